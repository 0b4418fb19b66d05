"""MathWorks' documentation examples of custom training loops, ported line by line.

Each test follows its MATLAB example's structure and names (``modelLoss``, ``XTrain``,
``trailingAvg``, ``monitor``...); a comment quotes the MATLAB line where the port is not
obvious. The examples are shrunk (fewer observations, iterations and filters) to run in
seconds, but each really trains and checks that it makes progress.

Porting rules that are the package's contract, not workarounds: indices and dims are 0-based
(``IterationDimension=4`` is ``3``, ``onehotencode(T, 1)`` is ``onehotencode(T, 0)``);
MATLAB's choice by the number of outputs is a keyword (``forward(net, X,
return_state=True)``, ``batchnorm(..., training=True)``); the digits labels are integers
0-9, so the classes are ``np.unique(TTrain)`` where MATLAB writes ``categories(TTrain)``.
"""

import dlarray as dl
import numpy as np
from dlarray import (
    Layer,
    adamupdate,
    arrayDatastore,
    batchnorm,
    batchNormalizationLayer,
    combine,
    concatenate,
    convolution2dLayer,
    crossentropy,
    digitTest4DArrayData,
    digitTrain4DArrayData,
    dlaccelerate,
    dlarray,
    dlconv,
    dlfeval,
    dlgradient,
    dlnetwork,
    dlupdate,
    dropoutLayer,
    extractdata,
    featureInputLayer,
    finddim,
    forward,
    fullyconnect,
    fullyConnectedLayer,
    gather,
    imageInputLayer,
    imtile,
    l2loss,
    lbfgsState,
    lbfgsupdate,
    leakyReluLayer,
    log,
    lstmLayer,
    maxPooling2dLayer,
    minibatchqueue,
    onehotdecode,
    onehotencode,
    padsequences,
    predict,
    relu,
    reluLayer,
    rescale,
    reshape,
    rng,
    sequenceInputLayer,
    sgdmupdate,
    sigmoid,
    sigmoidLayer,
    softmax,
    softmaxLayer,
    tanhLayer,
    trainingProgressMonitor,
    transposedConv2dLayer,
)


def _digits(numTrain, numTest=0):
    """The first observations of the digits data sets (the examples use all 5000)."""
    XTrain, TTrain, _ = digitTrain4DArrayData()
    XTest, TTest, _ = digitTest4DArrayData()
    return XTrain[..., :numTrain], TTrain[:numTrain], XTest[..., :numTest], TTest[:numTest]


# ---- Train Network Using Custom Training Loop ----------------------------------------------


def preprocessMiniBatchPredictors(dataX):
    # X = cat(4,dataX{1:end});
    return np.concatenate([x[..., None] for x in dataX], axis=3)


def modelPredictions(net, mbq, classes):
    Y = []
    while mbq.hasdata():
        X = mbq.next()
        scores = predict(net, X)
        # Y = [Y; onehotdecode(scores,classes,1)'];
        Y.append(onehotdecode(scores, classes, 0))
    return np.concatenate(Y)


def test_train_network_using_custom_training_loop():
    rng(0)
    XTrain, TTrain, XTest, TTest = _digits(1536, 1000)
    classes = np.unique(TTrain)  # classes = categories(TTrain);
    numClasses = len(classes)

    layers = [
        imageInputLayer([28, 28, 1], Normalization="none"),
        convolution2dLayer(5, 20, Padding="same"),
        batchNormalizationLayer(),
        reluLayer(),
        convolution2dLayer(3, 20, Padding="same"),
        batchNormalizationLayer(),
        reluLayer(),
        convolution2dLayer(3, 20, Padding="same"),
        batchNormalizationLayer(),
        reluLayer(),
        fullyConnectedLayer(numClasses),
        softmaxLayer(),
    ]
    net = dlnetwork(layers)

    def modelLoss(net, X, T):
        Y, state = forward(net, X, return_state=True)  # [Y,state] = forward(net,X);
        loss = crossentropy(Y, T)
        gradients = dlgradient(loss, net.Learnables)
        return loss, gradients, state

    def preprocessMiniBatch(dataX, dataT):
        X = preprocessMiniBatchPredictors(dataX)
        T = np.array(dataT)  # T = cat(2,dataT{1:end});
        T = onehotencode(T, 0, ClassNames=classes)  # T = onehotencode(T,1);
        return X, T

    numEpochs = 2
    miniBatchSize = 128
    initialLearnRate = 0.01
    decay = 0.01
    momentum = 0.9

    dsXTrain = arrayDatastore(XTrain, IterationDimension=3)
    dsTTrain = arrayDatastore(TTrain)
    dsTrain = combine(dsXTrain, dsTTrain)
    mbq = minibatchqueue(dsTrain, MiniBatchSize=miniBatchSize, MiniBatchFcn=preprocessMiniBatch, MiniBatchFormat=["SSCB", ""])

    velocity = None  # velocity = [];
    numObservationsTrain = len(TTrain)
    numIterationsPerEpoch = int(np.ceil(numObservationsTrain / miniBatchSize))
    numIterations = numEpochs * numIterationsPerEpoch
    # No window in a test: Visible=false records without drawing.
    monitor = trainingProgressMonitor(Metrics="Loss", Info=["Epoch", "LearnRate"], XLabel="Iteration", Visible=False)

    epoch = 0
    iteration = 0
    while epoch < numEpochs and not monitor.Stop:
        epoch += 1
        mbq.shuffle()
        while mbq.hasdata() and not monitor.Stop:
            iteration += 1
            X, T = mbq.next()
            loss, gradients, state = dlfeval(modelLoss, net, X, T)
            net.State = state
            learnRate = initialLearnRate / (1 + decay * iteration)
            net, velocity = sgdmupdate(net, gradients, velocity, learnRate, momentum)
            monitor.record_metrics(iteration, Loss=loss)
            monitor.update_info(Epoch=epoch, LearnRate=learnRate)
            monitor.Progress = 100 * iteration / numIterations
    monitor.close()

    assert (X.fmt, X.shape, T.fmt, T.shape) == ("SSCB", (28, 28, 1, 128), "", (numClasses, 128))
    steps, losses = monitor.metric_data["Loss"]
    assert iteration == numIterations == len(losses) and steps[-1] == numIterations
    assert monitor.Progress == 100 and monitor.info_data["Epoch"][-1] == numEpochs
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4])

    dsTest = arrayDatastore(XTest, IterationDimension=3)
    mbqTest = minibatchqueue(dsTest, MiniBatchSize=miniBatchSize, MiniBatchFcn=preprocessMiniBatchPredictors, MiniBatchFormat="SSCB")
    YTest = modelPredictions(net, mbqTest, classes)
    accuracy = np.mean(TTest == YTest)
    assert YTest.shape == TTest.shape
    assert accuracy > 0.6  # chance is 0.1


# ---- Train Network Using Model Function ----------------------------------------------------


def initializeGlorot(sz, numOut, numIn):
    # Z = 2*rand(sz,"single") - 1; bound = sqrt(6 / (numIn + numOut));
    Z = 2 * np.random.rand(*sz).astype(np.float32) - 1
    bound = float(np.sqrt(6 / (numIn + numOut)))  # a Python float keeps the weights single
    return dlarray(bound * Z)


def initializeZeros(sz):
    return dlarray(np.zeros(sz, np.float32))


def initializeOnes(sz):
    return dlarray(np.ones(sz, np.float32))


def model(parameters, X, doTraining, state):
    def batchnormLayer(Y, name):
        offset = parameters[name]["Offset"]
        scale = parameters[name]["Scale"]
        trainedMean = state[name]["TrainedMean"]
        trainedVariance = state[name]["TrainedVariance"]
        if doTraining:
            # [Y,trainedMean,trainedVariance] = batchnorm(Y,offset,scale,trainedMean,trainedVariance);
            Y, trainedMean, trainedVariance = batchnorm(Y, offset, scale, trainedMean, trainedVariance, training=True)
            # Update state: state.batchnorm1.TrainedMean = trainedMean; ...
            state[name]["TrainedMean"] = trainedMean
            state[name]["TrainedVariance"] = trainedVariance
        else:
            Y = batchnorm(Y, offset, scale, trainedMean, trainedVariance)
        return Y

    # Initial operations: conv1, batchnorm1, relu1.
    weights = parameters["conv1"]["Weights"]
    bias = parameters["conv1"]["Bias"]
    Y = dlconv(X, weights, bias, Padding="same")
    Y = batchnormLayer(Y, "batchnorm1")
    Y = relu(Y)

    # Main branch operations: conv2, batchnorm2, relu2, conv3, batchnorm3.
    weights = parameters["conv2"]["Weights"]
    bias = parameters["conv2"]["Bias"]
    YnoSkip = dlconv(Y, weights, bias, Padding="same", Stride=2)
    YnoSkip = batchnormLayer(YnoSkip, "batchnorm2")
    YnoSkip = relu(YnoSkip)
    weights = parameters["conv3"]["Weights"]
    bias = parameters["conv3"]["Bias"]
    YnoSkip = dlconv(YnoSkip, weights, bias, Padding="same")
    YnoSkip = batchnormLayer(YnoSkip, "batchnorm3")

    # Skip connection operations: convSkip, batchnormSkip.
    weights = parameters["convSkip"]["Weights"]
    bias = parameters["convSkip"]["Bias"]
    YSkip = dlconv(Y, weights, bias, Stride=2)
    YSkip = batchnormLayer(YSkip, "batchnormSkip")

    # Final operations: addition, relu4, fc, softmax.
    Y = YSkip + YnoSkip
    Y = relu(Y)
    weights = parameters["fc"]["Weights"]
    bias = parameters["fc"]["Bias"]
    Y = fullyconnect(Y, weights, bias)
    Y = softmax(Y)
    return Y, state


def modelLossFunction(parameters, X, T, state):
    doTraining = True
    Y, state = model(parameters, X, doTraining, state)
    loss = crossentropy(Y, T)
    gradients = dlgradient(loss, parameters)
    return loss, gradients, state


def test_train_network_using_model_function():
    rng(0)
    XTrain, TTrain, XTest, TTest = _digits(1536, 1000)
    classes = np.unique(TTrain)
    numClasses = len(classes)

    parameters = {}  # parameters = struct;
    state = {}

    def addConv(name, filterSize, numChannels, numFilters):
        sz = [*filterSize, numChannels, numFilters]
        numOut = np.prod(filterSize) * numFilters
        numIn = np.prod(filterSize) * numChannels
        parameters[name] = {"Weights": initializeGlorot(sz, numOut, numIn), "Bias": initializeZeros([numFilters, 1])}

    def addBatchnorm(name, numChannels):
        parameters[name] = {"Offset": initializeZeros([numChannels, 1]), "Scale": initializeOnes([numChannels, 1])}
        state[name] = {"TrainedMean": initializeZeros([numChannels, 1]), "TrainedVariance": initializeOnes([numChannels, 1])}

    addConv("conv1", [5, 5], 1, 16)
    addBatchnorm("batchnorm1", 16)
    addConv("conv2", [3, 3], 16, 32)
    addBatchnorm("batchnorm2", 32)
    addConv("conv3", [3, 3], 32, 32)
    addBatchnorm("batchnorm3", 32)
    addConv("convSkip", [1, 1], 16, 32)
    addBatchnorm("batchnormSkip", 32)
    sz = [numClasses, 6272]  # 14*14*32 features after the stride-2 convolutions
    parameters["fc"] = {"Weights": initializeGlorot(sz, numClasses, 6272), "Bias": initializeZeros([numClasses, 1])}

    def preprocessMiniBatch(dataX, dataT):
        X = preprocessMiniBatchPredictors(dataX)
        T = onehotencode(np.array(dataT), 0, ClassNames=classes)
        return X, T

    numEpochs = 2
    miniBatchSize = 64
    trailingAvg = []  # MATLAB's [] as the initial optimizer state
    trailingAvgSq = []

    dsTrain = combine(arrayDatastore(XTrain, IterationDimension=3), arrayDatastore(TTrain))
    mbq = minibatchqueue(dsTrain, MiniBatchSize=miniBatchSize, MiniBatchFcn=preprocessMiniBatch, MiniBatchFormat=["SSCB", ""])
    numIterations = numEpochs * int(np.ceil(len(TTrain) / miniBatchSize))
    monitor = trainingProgressMonitor(Metrics="Loss", Info="Epoch", XLabel="Iteration", Visible=False)

    epoch = 0
    iteration = 0
    losses = []
    while epoch < numEpochs and not monitor.Stop:
        epoch += 1
        mbq.shuffle()
        while mbq.hasdata() and not monitor.Stop:
            iteration += 1
            X, T = mbq.next()
            stateBefore = {k: {p: extractdata(v) for p, v in s.items()} for k, s in state.items()}
            loss, gradients, newState = dlfeval(modelLossFunction, parameters, X, T, state)
            # MATLAB's structs are values: the model's state updates reach the caller only
            # through the returned state.
            for name, values in stateBefore.items():
                for p, v in values.items():
                    np.testing.assert_array_equal(extractdata(state[name][p]), v)
            assert not np.allclose(extractdata(newState["batchnorm1"]["TrainedMean"]), stateBefore["batchnorm1"]["TrainedMean"])
            state = newState
            parameters, trailingAvg, trailingAvgSq = adamupdate(parameters, gradients, trailingAvg, trailingAvgSq, iteration)
            monitor.record_metrics(iteration, Loss=loss)
            monitor.update_info(Epoch=epoch)
            monitor.Progress = 100 * iteration / numIterations
            losses.append(float(loss))
    monitor.close()

    assert iteration == numIterations
    # The gradients and the optimizer state mirror the parameters' nesting.
    assert set(gradients) == set(parameters) and set(gradients["conv1"]) == {"Weights", "Bias"}
    assert set(trailingAvg["batchnorm1"]) == {"Offset", "Scale"}
    assert tuple(state["batchnormSkip"]["TrainedVariance"].shape) == (32, 1)
    assert np.mean(losses[-4:]) < 0.5 * np.mean(losses[:4])

    # doTraining = false; YTest = modelPredictions(parameters,state,mbqTest,classes);
    doTraining = False
    mbqTest = minibatchqueue(
        arrayDatastore(XTest, IterationDimension=3),
        MiniBatchSize=miniBatchSize,
        MiniBatchFcn=preprocessMiniBatchPredictors,
        MiniBatchFormat="SSCB",
    )
    YTest = []
    while mbqTest.hasdata():
        X = mbqTest.next()
        Y, _ = model(parameters, X, doTraining, state)
        YTest.append(onehotdecode(Y, classes, 0))
    accuracy = np.mean(TTest == np.concatenate(YTest))
    assert accuracy > 0.6


# ---- Solve Partial Differential Equation with L-BFGS Method and Deep Learning --------------


def modelLossBurgers(net, X, T, X0, T0, U0):
    # Make predictions with the initial conditions: XT = cat(1,X,T);
    XT = concatenate([X, T], 0)
    U = forward(net, XT)
    # Calculate derivatives with respect to X and T.
    gradientsU = dlgradient(dl.sum(U, "all"), [X, T], EnableHigherDerivatives=True)
    Ux = gradientsU[0]
    Ut = gradientsU[1]
    # Calculate second-order derivatives with respect to X.
    Uxx = dlgradient(dl.sum(Ux, "all"), X, EnableHigherDerivatives=True)
    # Calculate mseF. Enforce Burger's equation.
    f = Ut + U * Ux - (0.01 / np.pi) * Uxx
    zeroTarget = np.zeros(f.shape, f.dtype)  # zeros(size(f),"like",f)
    mseF = l2loss(f, zeroTarget)
    # Calculate mseU. Enforce initial and boundary conditions.
    XT0 = concatenate([X0, T0], 0)
    U0Pred = forward(net, XT0)
    mseU = l2loss(U0Pred, U0)
    loss = mseF + mseU
    gradients = dlgradient(loss, net.Learnables)
    return loss, gradients


def solveBurgers(X, t, nu):
    """The exact solution (Cole-Hopf), as the example's solveBurgers integrates it; here
    by a Riemann sum over eta, whose step cancels in the quotient."""
    f = lambda y: np.exp(-np.cos(np.pi * y) / (2 * np.pi * nu))
    g = lambda y: np.exp(-(y**2) / (4 * nu * t))
    eta = np.linspace(-1, 1, 2001)[:, None]  # g vanishes well inside [-1, 1]
    x = np.asarray(X, np.float64).reshape(1, -1)
    uxt = -np.sum(np.sin(np.pi * (x - eta)) * f(x - eta) * g(eta), axis=0)
    U = uxt / np.sum(f(x - eta) * g(eta), axis=0)
    U[np.abs(x[0]) == 1] = 0  # the boundary conditions
    return U


def test_solve_pde_with_lbfgs_method_and_deep_learning():
    rng(0)
    numBoundaryConditionPoints = [25, 25]
    x0BC1 = -1 * np.ones((1, numBoundaryConditionPoints[0]))
    x0BC2 = np.ones((1, numBoundaryConditionPoints[1]))
    t0BC1 = np.linspace(0, 1, numBoundaryConditionPoints[0]).reshape(1, -1)
    t0BC2 = np.linspace(0, 1, numBoundaryConditionPoints[1]).reshape(1, -1)
    u0BC1 = np.zeros((1, numBoundaryConditionPoints[0]))
    u0BC2 = np.zeros((1, numBoundaryConditionPoints[1]))
    numInitialConditionPoints = 50
    x0IC = np.linspace(-1, 1, numInitialConditionPoints).reshape(1, -1)
    t0IC = np.zeros((1, numInitialConditionPoints))
    u0IC = -np.sin(np.pi * x0IC)
    # X0 = [x0IC x0BC1 x0BC2]; ...
    X0 = np.concatenate([x0IC, x0BC1, x0BC2], axis=1)
    T0 = np.concatenate([t0IC, t0BC1, t0BC2], axis=1)
    U0 = np.concatenate([u0IC, u0BC1, u0BC2], axis=1)
    numInternalCollocationPoints = 1000  # the example: 10000
    points = np.random.rand(numInternalCollocationPoints, 2)
    dataX = 2 * points[:, 0:1] - 1
    dataT = points[:, 1:2]

    numBlocks = 8
    fcOutputSize = 20
    fcBlock = [fullyConnectedLayer(fcOutputSize), tanhLayer()]
    # layers = [featureInputLayer(2); repmat(fcBlock,[numBlocks 1]); fullyConnectedLayer(1)];
    layers = [featureInputLayer(2), *(fcBlock * numBlocks), fullyConnectedLayer(1)]
    net = dlnetwork(layers)
    net = dlupdate(lambda p: p.astype("double"), net)  # net = dlupdate(@double,net);
    assert len(net.Learnables) == 2 * (numBlocks + 1) and net.Learnables.Value[0].dtype == np.float64

    solverState = lbfgsState()
    X = dlarray(dataX, "BC")
    T = dlarray(dataT, "BC")
    X0 = dlarray(X0, "CB")
    T0 = dlarray(T0, "CB")
    U0 = dlarray(U0, "CB")
    accfun = dlaccelerate(modelLossBurgers)
    lossFcn = lambda net: dlfeval(accfun, net, X, T, X0, T0, U0)

    tTest = [0.25, 0.5, 0.75, 1]
    szXTest = 1001
    XTest = np.linspace(-1, 1, szXTest).reshape(1, -1)

    def testError(net):
        err = []
        for t in tTest:
            TTest = t * np.ones((1, szXTest))
            XTTest = concatenate([dlarray(XTest, "CB"), dlarray(TTest, "CB")], 0)
            UPred = forward(net, XTTest)
            UTest = solveBurgers(XTest, t, 0.01 / np.pi)
            err.append(np.linalg.norm(extractdata(UPred).ravel() - UTest) / np.linalg.norm(UTest))
        return np.array(err)

    errorBefore = testError(net)

    maxIterations = 200  # the example: 1500
    gradientTolerance = 1e-5
    stepTolerance = 1e-5
    monitor = trainingProgressMonitor(
        Metrics="TrainingLoss", Info=["Iteration", "GradientsNorm", "StepNorm"], XLabel="Iteration", Visible=False
    )
    iteration = 0
    while iteration < maxIterations and not monitor.Stop:
        iteration += 1
        net, solverState = lbfgsupdate(net, lossFcn, solverState)
        monitor.update_info(Iteration=iteration, GradientsNorm=solverState.GradientsNorm, StepNorm=solverState.StepNorm)
        monitor.record_metrics(iteration, TrainingLoss=solverState.Loss)
        monitor.Progress = 100 * iteration / maxIterations
        if (
            solverState.GradientsNorm < gradientTolerance
            or solverState.StepNorm < stepTolerance
            or solverState.LineSearchStatus == "failed"
        ):
            break
    monitor.close()

    _, losses = monitor.metric_data["TrainingLoss"]
    assert iteration == maxIterations and solverState.LineSearchStatus == "completed"
    assert losses[-1] < 0.35 * losses[0]
    assert accfun.HitRate > 90  # one trace, replayed by every later loss evaluation
    errorAfter = testError(net)
    assert np.all(errorAfter < 0.7 * errorBefore)


# ---- Train Generative Adversarial Network (GAN) --------------------------------------------


class projectAndReshapeLayer(Layer):
    """The example's custom layer (classdef projectAndReshapeLayer < nnet.layer.Layer &
    nnet.layer.Formattable): project the input by fullyconnect, reshape it to images."""

    learnable_parameters = ("Weights", "Bias")  # properties (Learnable) Weights; Bias; end
    description = "Project and Reshape"  # layer.Type = "Project and Reshape";

    def __init__(self, outputSize, Name=""):
        super().__init__(Name)
        self.OutputSize = tuple(outputSize)
        self.Weights = None
        self.Bias = None

    def initialize(self, layout):
        outputSize = self.OutputSize
        if self.Weights is None:
            idx = finddim(layout, "C")
            numChannels = layout.shape[idx[0]]  # layout.Size(idx)
            sz = [int(np.prod(outputSize)), numChannels]
            numOut = np.prod(outputSize)
            numIn = numChannels
            self.Weights = initializeGlorot(sz, numOut, numIn)
        if self.Bias is None:
            self.Bias = initializeZeros([int(np.prod(outputSize)), 1])

    def predict(self, X):
        weights = self.Weights
        bias = self.Bias
        X = fullyconnect(X, weights, bias)
        outputSize = self.OutputSize
        # Z = reshape(X,outputSize(1),outputSize(2),outputSize(3),[]);  (column-major)
        Z = reshape(X, outputSize[0], outputSize[1], outputSize[2], -1, order="F")
        Z = dlarray(Z, "SSCB")
        return Z


def ganLoss(YReal, YGenerated):
    # Calculate the loss for the discriminator network.
    lossD = -dl.mean(log(YReal)) - dl.mean(log(1 - YGenerated))
    # Calculate the loss for the generator network.
    lossG = -dl.mean(log(YGenerated))
    return lossG, lossD


def modelLossGAN(netG, netD, X, Z, flipProb):
    # Calculate the predictions for real data with the discriminator network.
    YReal = forward(netD, X)
    # Calculate the predictions for generated data with the discriminator network.
    XGenerated, stateG = forward(netG, Z, return_state=True)
    YGenerated = forward(netD, XGenerated)
    # Calculate the score of the discriminator.
    scoreD = (dl.mean(YReal) + dl.mean(1 - YGenerated)) / 2
    # Calculate the score of the generator.
    scoreG = dl.mean(YGenerated)
    # Randomly flip the labels of the real images.
    numObservations = YReal.shape[3]  # size(YReal,4)
    idx = np.random.rand(numObservations) < flipProb
    YReal[:, :, :, idx] = 1 - YReal[:, :, :, idx]  # YReal(:,:,:,idx) = 1 - YReal(:,:,:,idx);
    # Calculate the GAN loss.
    lossG, lossD = ganLoss(YReal, YGenerated)
    # For each network, calculate the gradients with respect to the loss.
    gradientsG = dlgradient(lossG, netG.Learnables, RetainData=True)
    gradientsD = dlgradient(lossD, netD.Learnables)
    return lossG, lossD, gradientsG, gradientsD, stateG, scoreG, scoreD


def test_train_generative_adversarial_network():
    rng(0)
    XTrain, _, _, _ = _digits(1024)

    # The example makes 64x64x3 images from [4 4 512]; the digits are 28x28x1, made from
    # [3 3 4*numFilters] by one block fewer.
    filterSize = 5
    numFilters = 16
    numLatentInputs = 100
    projectionSize = [3, 3, 4 * numFilters]
    layersGenerator = [
        featureInputLayer(numLatentInputs),
        projectAndReshapeLayer(projectionSize),
        transposedConv2dLayer(filterSize, 2 * numFilters),
        batchNormalizationLayer(),
        reluLayer(),
        transposedConv2dLayer(filterSize, numFilters, Stride=2, Cropping="same"),
        batchNormalizationLayer(),
        reluLayer(),
        transposedConv2dLayer(filterSize, 1, Stride=2, Cropping="same"),
        tanhLayer(),
    ]
    netG = dlnetwork(layersGenerator)

    dropoutProb = 0.5
    scale = 0.2
    inputSize = [28, 28, 1]
    layersDiscriminator = [
        imageInputLayer(inputSize, Normalization="none"),
        dropoutLayer(dropoutProb),
        convolution2dLayer(filterSize, numFilters, Stride=2, Padding="same"),
        leakyReluLayer(scale),
        convolution2dLayer(filterSize, 2 * numFilters, Stride=2, Padding="same"),
        batchNormalizationLayer(),
        leakyReluLayer(scale),
        convolution2dLayer(filterSize, 4 * numFilters, Stride=2, Padding="same"),
        batchNormalizationLayer(),
        leakyReluLayer(scale),
        convolution2dLayer(4, 1),
        sigmoidLayer(),
    ]
    netD = dlnetwork(layersDiscriminator)
    assert netG.Learnables["layer", "Weights"].shape == (np.prod(projectionSize), numLatentInputs)

    def preprocessMiniBatch(data):
        # Concatenate mini-batch: X = cat(4,data{:});
        X = np.concatenate([x[..., None] for x in data], axis=3)
        # Rescale the images in the range [-1 1] (the digits lie in [0 1]).
        X = rescale(X, -1, 1, InputMin=0, InputMax=1)
        return X

    numEpochs = 1
    miniBatchSize = 128
    learnRate = 0.0002
    gradientDecayFactor = 0.5
    squaredGradientDecayFactor = 0.999
    flipProb = 0.35
    validationFrequency = 4

    mbq = minibatchqueue(
        arrayDatastore(XTrain, IterationDimension=3),
        MiniBatchSize=miniBatchSize,
        PartialMiniBatch="discard",
        MiniBatchFcn=preprocessMiniBatch,
        MiniBatchFormat="SSCB",
    )
    trailingAvg = []
    trailingAvgSqD = []
    trailingAvgG = []
    trailingAvgSqG = []
    numValidationImages = 25
    ZValidation = np.random.randn(numLatentInputs, numValidationImages).astype(np.float32)
    ZValidation = dlarray(ZValidation, "CB")
    monitor = trainingProgressMonitor(
        Metrics=["GeneratorScore", "DiscriminatorScore"], Info=["Epoch", "Iteration"], XLabel="Iteration", Visible=False
    )
    monitor.group_sub_plot("Score", ["GeneratorScore", "DiscriminatorScore"])

    netG0, netD0 = netG, netD
    epoch = 0
    iteration = 0
    while epoch < numEpochs and not monitor.Stop:
        epoch += 1
        mbq.shuffle()
        while mbq.hasdata() and not monitor.Stop:
            iteration += 1
            X = mbq.next()
            # Generate latent inputs for the generator network.
            Z = np.random.randn(numLatentInputs, miniBatchSize).astype(np.float32)
            Z = dlarray(Z, "CB")
            lossG, lossD, gradientsG, gradientsD, stateG, scoreG, scoreD = dlfeval(modelLossGAN, netG, netD, X, Z, flipProb)
            netG.State = stateG
            netD, trailingAvg, trailingAvgSqD = adamupdate(
                netD, gradientsD, trailingAvg, trailingAvgSqD, iteration, learnRate, gradientDecayFactor, squaredGradientDecayFactor
            )
            netG, trailingAvgG, trailingAvgSqG = adamupdate(
                netG, gradientsG, trailingAvgG, trailingAvgSqG, iteration, learnRate, gradientDecayFactor, squaredGradientDecayFactor
            )
            if iteration % validationFrequency == 0 or iteration == 1:
                XGeneratedValidation = predict(netG, ZValidation)
                I = imtile(extractdata(XGeneratedValidation))  # noqa: E741 - MATLAB's name
                I = rescale(I)  # noqa: E741
                assert I.shape == (5 * 28, 5 * 28) and I.min() == 0 and I.max() == 1
            monitor.record_metrics(iteration, GeneratorScore=scoreG, DiscriminatorScore=scoreD)
            monitor.update_info(Epoch=epoch, Iteration=iteration)
            monitor.Progress = 100 * iteration / (len(mbq) * numEpochs)
            assert np.isfinite(float(lossG)) and np.isfinite(float(lossD))
            assert 0 < float(scoreG) < 1 and 0 < float(scoreD) < 1
    monitor.close()

    assert iteration == 1024 // miniBatchSize  # partial mini-batches discarded
    assert (X.fmt, X.shape) == ("SSCB", (28, 28, 1, miniBatchSize)) and float(X.min()) >= -1 and float(X.max()) <= 1
    assert (XGeneratedValidation.fmt, XGeneratedValidation.shape) == ("SSCB", (28, 28, 1, numValidationImages))
    assert float(abs(XGeneratedValidation).max()) <= 1  # tanhLayer
    # Both networks (the custom layer's learnables included) and the generator's state moved.
    for new, old in ((netG, netG0), (netD, netD0)):
        for a, b in zip(new.Learnables.Value, old.Learnables.Value):
            assert not np.array_equal(extractdata(a), extractdata(b))
    assert not np.array_equal(extractdata(netG.State.Value[0]), extractdata(netG0.State.Value[0]))
    # The discriminator learns first: it tells real from generated images.
    _, scoresD = monitor.metric_data["DiscriminatorScore"]
    assert np.mean(scoresD[-3:]) > np.mean(scoresD[:2])


# ---- Train a Siamese Network to Compare Images ---------------------------------------------


def forwardSiamese(net, fcParams, X1, X2):
    # Pass the first image through the twin subnetwork.
    Y1 = forward(net, X1)
    Y1 = sigmoid(Y1)
    # Pass the second image through the twin subnetwork.
    Y2 = forward(net, X2)
    Y2 = sigmoid(Y2)
    # Subtract the feature vectors.
    Y = abs(Y1 - Y2)
    # Pass the result through a fullyconnect operation.
    Y = fullyconnect(Y, fcParams["FcWeights"], fcParams["FcBias"])
    # Convert to probability between 0 and 1.
    Y = sigmoid(Y)
    return Y


def predictSiamese(net, fcParams, X1, X2):
    Y1 = sigmoid(predict(net, X1))
    Y2 = sigmoid(predict(net, X2))
    Y = abs(Y1 - Y2)
    Y = fullyconnect(Y, fcParams["FcWeights"], fcParams["FcBias"])
    return sigmoid(Y)


def binarycrossentropy(Y, pairLabels):
    # Get precision of prediction to prevent errors due to floating point precision.
    precision = Y.dtype  # underlyingType(Y)
    # Convert values less than floating point precision to eps.
    Y[Y < np.finfo(precision).eps] = np.finfo(precision).eps
    # Convert values between 1 and 1-eps to 1-eps.
    Y[Y > 1 - np.finfo(precision).eps] = 1 - np.finfo(precision).eps
    # Calculate binary cross-entropy loss for each pair.
    loss = -pairLabels * log(Y) - (1 - pairLabels) * log(1 - Y)
    # Sum over all pairs in minibatch and normalize.
    loss = dl.sum(loss) / pairLabels.size  # sum(loss)/numel(pairLabels)
    return loss


def modelLossSiamese(net, fcParams, X1, X2, pairLabels):
    # Pass the image pair through the network.
    Y = forwardSiamese(net, fcParams, X1, X2)
    # Calculate binary cross-entropy loss.
    loss = binarycrossentropy(Y, pairLabels)
    # The same loss from the toolbox: independent (multilabel) targets.
    lossToolbox = crossentropy(Y, pairLabels, ClassificationMode="multilabel")
    # Calculate gradients of the loss with respect to the network learnable parameters.
    gradientsSubnet, gradientsParams = dlgradient(loss, net.Learnables, fcParams)
    return loss, gradientsSubnet, gradientsParams, lossToolbox


def getSimilarPair(classLabel):
    # Find all unique classes.
    classes = np.unique(classLabel)
    # Choose a class randomly which will be used to get a similar pair.
    classChoice = np.random.randint(len(classes))  # randi(numel(classes))
    # Find the indices of all the observations from the chosen class.
    idxs = np.flatnonzero(classLabel == classes[classChoice])
    # Randomly choose two different images from the chosen class.
    pairIdxChoice = np.random.permutation(len(idxs))[:2]  # randperm(numel(idxs),2)
    pairIdx1 = idxs[pairIdxChoice[0]]
    pairIdx2 = idxs[pairIdxChoice[1]]
    label = 1
    return pairIdx1, pairIdx2, label


def getDissimilarPair(classLabel):
    classes = np.unique(classLabel)
    # Choose two different classes randomly which will be used to get a dissimilar pair.
    classesChoice = np.random.permutation(len(classes))[:2]
    idxs1 = np.flatnonzero(classLabel == classes[classesChoice[0]])
    idxs2 = np.flatnonzero(classLabel == classes[classesChoice[1]])
    pairIdx1 = idxs1[np.random.randint(len(idxs1))]
    pairIdx2 = idxs2[np.random.randint(len(idxs2))]
    label = 0
    return pairIdx1, pairIdx2, label


def getSiameseBatch(images, labels, miniBatchSize):
    """The example's getSiameseBatch, reading the images from an array for its imds."""
    pairLabels = np.zeros((1, miniBatchSize), np.float32)
    imgSize = images.shape[:2]
    X1 = np.zeros([*imgSize, 1, miniBatchSize], np.float32)
    X2 = np.zeros([*imgSize, 1, miniBatchSize], np.float32)
    for i in range(miniBatchSize):
        choice = np.random.rand()
        if choice < 0.5:
            pairIdx1, pairIdx2, pairLabels[0, i] = getSimilarPair(labels)
        else:
            pairIdx1, pairIdx2, pairLabels[0, i] = getDissimilarPair(labels)
        X1[:, :, :, i] = images[..., pairIdx1]
        X2[:, :, :, i] = images[..., pairIdx2]
    return X1, X2, pairLabels


def test_train_siamese_network_to_compare_images():
    rng(0)
    XTrain, TTrain, XTest, TTest = _digits(2000, 1000)

    # The example's twin subnetwork for 105x105 images, scaled to 28x28 digits.
    init = dict(WeightsInitializer="narrow-normal", BiasInitializer="narrow-normal")
    layers = [
        imageInputLayer([28, 28, 1], Normalization="none"),
        convolution2dLayer(5, 16, **init),
        reluLayer(),
        maxPooling2dLayer(2, Stride=2),
        convolution2dLayer(3, 32, **init),
        reluLayer(),
        maxPooling2dLayer(2, Stride=2),
        convolution2dLayer(3, 32, **init),
        reluLayer(),
        fullyConnectedLayer(64, **init),
    ]
    net = dlnetwork(layers)

    fcWeights = dlarray(0.01 * np.random.randn(1, 64))
    fcBias = dlarray(0.01 * np.random.randn(1, 1))
    fcParams = {"FcWeights": fcWeights, "FcBias": fcBias}  # struct("FcWeights",fcWeights,...)

    numIterations = 100  # the example: 10000
    miniBatchSize = 64
    learningRate = 1e-2  # the example: 6e-5, over 10000 iterations
    gradDecay = 0.9
    gradDecaySq = 0.99
    trailingAvgSubnet = []
    trailingAvgSqSubnet = []
    trailingAvgParams = []
    trailingAvgSqParams = []
    monitor = trainingProgressMonitor(Metrics="Loss", XLabel="Iteration", Info="ExecutionEnvironment", Visible=False)
    monitor.update_info(ExecutionEnvironment="CPU")

    fcParams0 = fcParams
    for iteration in range(1, numIterations + 1):
        # Extract mini-batch of image pairs and pair labels.
        X1, X2, pairLabels = getSiameseBatch(XTrain, TTrain, miniBatchSize)
        # Convert mini-batch of data to dlarray. Specify the dimension labels "SSCB".
        X1 = dlarray(X1, "SSCB")
        X2 = dlarray(X2, "SSCB")
        loss, gradientsSubnet, gradientsParams, lossToolbox = dlfeval(modelLossSiamese, net, fcParams, X1, X2, pairLabels)
        np.testing.assert_allclose(float(loss), float(lossToolbox), rtol=1e-5)
        # Update the Siamese subnetwork parameters.
        net, trailingAvgSubnet, trailingAvgSqSubnet = adamupdate(
            net, gradientsSubnet, trailingAvgSubnet, trailingAvgSqSubnet, iteration, learningRate, gradDecay, gradDecaySq
        )
        # Update the fullyconnect parameters.
        fcParams, trailingAvgParams, trailingAvgSqParams = adamupdate(
            fcParams, gradientsParams, trailingAvgParams, trailingAvgSqParams, iteration, learningRate, gradDecay, gradDecaySq
        )
        monitor.record_metrics(iteration, Loss=loss)
        monitor.Progress = 100 * iteration / numIterations
    monitor.close()

    assert set(gradientsParams) == {"FcWeights", "FcBias"} and gradientsParams["FcWeights"].shape == (1, 64)
    assert not np.array_equal(extractdata(fcParams["FcWeights"]), extractdata(fcParams0["FcWeights"]))
    _, losses = monitor.metric_data["Loss"]
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])

    # Evaluate the accuracy on pairs of test images.
    accuracyBatchSize = 150
    numBatches = 4
    accuracy = np.zeros(numBatches)
    for i in range(numBatches):
        X1, X2, pairLabelsAcc = getSiameseBatch(XTest, TTest, accuracyBatchSize)
        X1 = dlarray(X1, "SSCB")
        X2 = dlarray(X2, "SSCB")
        Y = predictSiamese(net, fcParams, X1, X2)
        Y = gather(extractdata(Y))
        Y = np.round(Y)
        accuracy[i] = np.sum(Y == pairLabelsAcc) / accuracyBatchSize
    averageAccuracy = np.mean(accuracy) * 100
    assert averageAccuracy > 70  # chance is 50


# ---- Sequence Classification Using Deep Learning (custom training loop) --------------------


def sinusoidSequences(numObservations, frequencies, numFeatures):
    """Noisy sinusoids of random lengths (numFeatures x length each, MATLAB's cell array of
    C-by-T sequences) and the index of their frequency: the example's data set is not
    redistributable."""
    XData, TData = [], np.random.randint(len(frequencies), size=numObservations)
    for i in range(numObservations):
        sequenceLength = np.random.randint(15, 45)
        t = np.arange(sequenceLength)
        phase = 2 * np.pi * np.random.rand(numFeatures, 1)
        X = np.sin(2 * np.pi * frequencies[TData[i]] * t + phase) + 0.3 * np.random.randn(numFeatures, sequenceLength)
        XData.append(X.astype(np.float32))
    return XData, TData


def test_sequence_classification_using_deep_learning():
    rng(0)
    frequencies = [0.04, 0.08, 0.12, 0.16]  # cycles per time step
    numFeatures = 2
    XTrain, TTrain = sinusoidSequences(768, frequencies, numFeatures)
    XTest, TTest = sinusoidSequences(400, frequencies, numFeatures)
    classes = np.unique(TTrain)
    numClasses = len(classes)

    # Sort the data by length, so that the sequences of a mini-batch have similar lengths.
    numObservations = len(XTrain)
    sequenceLengths = np.zeros(numObservations, int)
    for i in range(numObservations):
        sequence = XTrain[i]
        sequenceLengths[i] = sequence.shape[1]  # size(sequence,2)
    idx = np.argsort(sequenceLengths, kind="stable")  # [sequenceLengths,idx] = sort(sequenceLengths);
    sequenceLengths = sequenceLengths[idx]
    XTrain = [XTrain[i] for i in idx]
    TTrain = TTrain[idx]

    numHiddenUnits = 32
    layers = [
        sequenceInputLayer(numFeatures),
        lstmLayer(numHiddenUnits, OutputMode="last"),
        fullyConnectedLayer(numClasses),
        softmaxLayer(),
    ]
    net = dlnetwork(layers)

    def preprocessMiniBatchPredictors(XCell):
        # Pad on the left so that every sequence ends at the last time step, which the
        # OutputMode="last" layer reads; the mask says where the data is.
        X, mask = padsequences(XCell, 1, Direction="left", PaddingValue=0, return_mask=True)
        return X, mask

    def preprocessMiniBatch(XCell, TCell):
        X, mask = preprocessMiniBatchPredictors(XCell)
        T = onehotencode(np.array(TCell), 0, ClassNames=classes)
        return X, T, mask

    def modelLoss(net, X, T):
        Y = forward(net, X)
        loss = crossentropy(Y, T)
        gradients = dlgradient(loss, net.Learnables)
        return loss, gradients

    numEpochs = 10
    miniBatchSize = 32
    learnRate = 0.01
    dsTrain = combine(arrayDatastore(XTrain, OutputType="same"), arrayDatastore(TTrain))
    mbq = minibatchqueue(dsTrain, 3, MiniBatchSize=miniBatchSize, MiniBatchFcn=preprocessMiniBatch, MiniBatchFormat=["CTB", "", "CTB"])
    numIterations = numEpochs * len(mbq)
    monitor = trainingProgressMonitor(Metrics="Loss", Info="Epoch", XLabel="Iteration", Visible=False)
    averageGrad = []
    averageSqGrad = []
    epoch = 0
    iteration = 0
    while epoch < numEpochs and not monitor.Stop:
        epoch += 1
        mbq.reset()  # the sorted order is kept (the example's Shuffle="never"): little padding
        while mbq.hasdata() and not monitor.Stop:
            iteration += 1
            X, T, mask = mbq.next()
            if iteration == 1:
                # Left padding: each sequence's data ends at the last step, zeros before it.
                first = sequenceLengths[:miniBatchSize]
                assert X.fmt == "CBT" and X.shape == (numFeatures, miniBatchSize, first.max())
                np.testing.assert_array_equal(extractdata(mask)[0].sum(axis=1), first)
                assert np.all(extractdata(mask)[:, :, -1] == 1) and np.all(extractdata(X)[extractdata(mask) == 0] == 0)
            loss, gradients = dlfeval(modelLoss, net, X, T)
            net, averageGrad, averageSqGrad = adamupdate(net, gradients, averageGrad, averageSqGrad, iteration, learnRate)
            monitor.record_metrics(iteration, Loss=loss)
            monitor.update_info(Epoch=epoch)
            monitor.Progress = 100 * iteration / numIterations
    monitor.close()

    _, losses = monitor.metric_data["Loss"]
    perEpoch = len(mbq)
    assert iteration == numIterations
    assert np.mean(losses[-perEpoch:]) < 0.5 * np.mean(losses[:perEpoch])

    # Sort the test data by length too: the network saw little padding.
    sequenceLengthsTest = np.array([sequence.shape[1] for sequence in XTest])
    idx = np.argsort(sequenceLengthsTest, kind="stable")
    XTest = [XTest[i] for i in idx]
    TTest = TTest[idx]
    mbqTest = minibatchqueue(
        arrayDatastore(XTest, OutputType="same"),
        2,
        MiniBatchSize=miniBatchSize,
        MiniBatchFcn=preprocessMiniBatchPredictors,
        MiniBatchFormat=["CTB", "CTB"],
    )
    YTest = []
    while mbqTest.hasdata():
        X, _ = mbqTest.next()
        scores = predict(net, X)
        YTest.append(onehotdecode(scores, classes, 0))
    accuracy = np.mean(np.concatenate(YTest) == TTest)
    assert accuracy > 0.8  # chance is 0.25
