//! The op type: what a recorded op computed, as data. An [`OpKind`] and the op's inputs
//! determine its output, so a recorded trace can be printed, walked and replayed
//! ([`crate::autodiff::replay`]), and every backward rule is one arm of one table
//! ([`crate::autodiff::rules`]).

use std::sync::Arc;

use crate::buffer::Buffer;
use crate::dtype::DType;
use crate::kernels::recurrent::{Activation, Dims, ResetGateMode};
use crate::ops::conv::ConvParams;
use crate::ops::pool::PoolWindow;
use crate::ops::{BinaryOp, CompareOp, ReduceOp, UnaryOp};
use crate::storage::Device;

/// An op and its attributes (everything but the input arrays). Inputs are listed in the
/// order given in each variant's comment.
#[derive(Debug, Clone)]
pub enum OpKind {
    /// A traced input of `dlfeval`.
    Leaf,
    /// An identity with its own node (`[x]`): each use of a tensor passed twice to a composite
    /// gets its own gradient.
    Alias,
    /// A gradient that depends on no traced value, attached to `[x]` so that it can be
    /// differentiated again (to zero). Its value is the recorded output's own.
    ConstantGradient,

    // ----- elementwise ----------------------------------------------------------------------
    /// `[x]`.
    Unary(UnaryOp),
    /// `|z|` of complex `[z]`.
    AbsComplex,
    /// Relu's backward `[g, x]`: `g` where `x > 0`.
    ReluGrad,
    /// `[x]`.
    LeakyRelu { scale: f64 },
    /// `[x]`: leakyrelu's slope, 1 where `x > 0`, `scale` elsewhere; no gradient.
    LeakyReluSlope { scale: f64 },
    /// `[x]`: the identity with no gradient (a value a rule holds constant).
    StopGradient,
    /// `[x]`: the same values on `device`; the gradient goes back to `x`'s device.
    ToDevice { device: Device },
    /// `[a, b]`, broadcast.
    Binary(BinaryOp),
    /// `[a, b]`, broadcast: 1 where the comparison holds, else 0; no gradient.
    Compare(CompareOp),
    /// `[a, b, cond]`: `cond ? a : b`, broadcast; `cond` takes no gradient.
    Where,
    /// `[x]`.
    Cast { to: DType },
    /// `[x]`.
    Conj,
    /// `[x]`.
    Real,
    /// `[x]`.
    Imag,
    /// `[re, im]`, broadcast.
    Complex,

    // ----- reductions and scans ---------------------------------------------------------------
    /// `[x]`, reduced axes kept as size 1.
    Reduce { op: ReduceOp, axes: Vec<usize> },
    /// `[x]`.
    Cumsum { axis: usize, reverse: bool },

    // ----- moving data ----------------------------------------------------------------------------
    /// `[x]`; row-major, storage shared.
    Reshape { shape: Vec<usize> },
    /// `[x]`: output axis i is input axis `perm[i]`.
    Permute { perm: Vec<usize> },
    /// `[x]`.
    BroadcastTo { shape: Vec<usize> },
    /// `[x]`.
    Flip { axes: Vec<usize> },
    /// `[x]`: `start..start + len` along `axis`.
    Narrow { axis: usize, start: usize, len: usize },
    /// `[x]`: zeros before and after along `axis`.
    Pad { axis: usize, before: usize, after: usize },
    /// `[x0, x1, ...]` along `axis`.
    Concat { axis: usize },
    /// `[x]`: the elements at flat positions `idx`, arranged in `shape`.
    Take { idx: Arc<Vec<usize>>, shape: Vec<usize> },
    /// `[v]`: zeros of `shape` with `v` added at flat positions `idx`.
    ScatterAdd { idx: Arc<Vec<usize>>, shape: Vec<usize> },
    /// `[x, values]`: `x` with the flat positions `idx` set to `values`.
    IndexPut { idx: Arc<Vec<usize>> },
    /// `[x]`: slices `idx` along `axis`.
    TakeAxis { axis: usize, idx: Arc<Vec<usize>> },
    /// `[v]`: zeros with `axis` of length `n`, `v`'s slices added at `idx`.
    IndexAddAxis { axis: usize, idx: Arc<Vec<usize>>, n: usize },

    // ----- linear algebra, deep learning -------------------------------------------------------
    /// `[a, b]`: batched `op(a) · op(b)`, `op` transposing the last two axes where asked.
    Matmul { transpose_a: bool, transpose_b: bool },
    /// `[x]`.
    Softmax { axis: usize },
    /// `[x]`.
    LogSoftmax { axis: usize },
    /// `[p]`, `p` a softmax output: `log(p)` taken from its logits (the op's shortcut target).
    SoftmaxLog { axis: usize },
    /// `[x, w]` or `[x, w, bias]`: x (S..., C, N), w (K..., C/G, F/G, G).
    Conv { params: ConvParams },
    /// `[g, w]`: conv's adjoint in its input, for an input of spatial size `input_spatial`.
    ConvInputGrad { params: ConvParams, input_spatial: Vec<usize> },
    /// `[x, g]`: conv's adjoint in its weights, of shape `weight_shape`.
    ConvWeightGrad { params: ConvParams, weight_shape: Vec<usize> },
    /// `[x]`: the argmax positions are saved ([`Saved::Indices`]).
    MaxPool { window: PoolWindow },
    /// `[g, x]`: maxpool's backward, `g` scattered to where `x`'s windows have their maxima.
    MaxPoolBackward { window: PoolWindow },
    /// `[g, x]`: `g` (shaped like `x`) gathered where `x`'s windows have their maxima.
    MaxPoolGather { window: PoolWindow },
    /// `[v]`: zeros of `shape` with `v` added at flat positions `idx`.
    MaxUnpool { idx: Arc<Vec<usize>>, shape: Vec<usize> },
    /// `[g]`: the elements at flat positions `idx` (maxunpool's adjoint).
    PoolGather { idx: Arc<Vec<usize>> },
    /// `[x]`.
    AvgPool { window: PoolWindow, padding_value_counts: bool },
    /// `[g]`: avgpool's adjoint for an input of `input_shape`.
    AvgPoolBackward { window: PoolWindow, padding_value_counts: bool, input_shape: Vec<usize> },
    /// `[x, offset, scale]`, normalised per channel `axis` with batch statistics.
    Batchnorm { axis: usize, epsilon: f64 },
    /// `[x]`: the batch mean per channel `axis`.
    BatchnormMean { axis: usize },
    /// `[x]`: the biased batch variance per channel `axis`.
    BatchnormVar { axis: usize },
    /// `[x, g]`: batchnorm's offset and scale gradients, packed `[Σg; Σg·x̂]` (2C values),
    /// with the statistics recomputed from x. Recorded only for a replayed first-order pass:
    /// it has no backward rule.
    BatchnormParamGrads { axis: usize, epsilon: f64 },
    /// `[x, scale, g, param_grads]`: batchnorm's input gradient from the packed sums of
    /// [`OpKind::BatchnormParamGrads`], the statistics recomputed from x. Replay only, as that.
    BatchnormInputGrad { axis: usize, epsilon: f64 },
    /// `[x]`: standardised over `axes`.
    Standardize { axes: Vec<usize>, epsilon: f64 },
    /// `[x, h0, c0, w, r, b]`: the packed output, Y then the final cell state.
    Lstm { dims: Dims, state: Activation, gate: Activation },
    /// `[x, h0, w, r, b]`: the hidden states.
    Gru { dims: Dims, mode: ResetGateMode, state: Activation, gate: Activation },
}

impl OpKind {
    /// The op's name, as errors and trace listings show it.
    pub fn name(&self) -> &'static str {
        use OpKind::*;
        match self {
            Leaf => "leaf",
            Alias => "alias",
            ConstantGradient => "constant_gradient",
            Unary(op) => op.name(),
            AbsComplex => "abs",
            ReluGrad => "relu_grad",
            LeakyRelu { .. } => "leakyrelu",
            LeakyReluSlope { .. } => "leakyrelu_slope",
            StopGradient => "stop_gradient",
            ToDevice { .. } => "to_device",
            Binary(op) => op.name(),
            Compare(op) => op.name(),
            Where => "where",
            Cast { .. } => "cast",
            Conj => "conj",
            Real => "real",
            Imag => "imag",
            Complex => "complex",
            Reduce { op, .. } => op.name(),
            Cumsum { .. } => "cumsum",
            Reshape { .. } => "reshape",
            Permute { .. } => "permute",
            BroadcastTo { .. } => "broadcast_to",
            Flip { .. } => "flip",
            Narrow { .. } => "narrow",
            Pad { .. } => "pad",
            Concat { .. } => "concatenate",
            Take { .. } | TakeAxis { .. } => "index",
            ScatterAdd { .. } => "scatter_add",
            IndexPut { .. } => "index_put",
            IndexAddAxis { .. } => "index_add",
            Matmul { .. } => "pagemtimes",
            Softmax { .. } => "softmax",
            LogSoftmax { .. } | SoftmaxLog { .. } => "log_softmax",
            Conv { .. } => "dlconv",
            ConvInputGrad { .. } => "dlconv_input_grad",
            ConvWeightGrad { .. } => "dlconv_weight_grad",
            MaxPool { .. } | PoolGather { .. } => "maxpool",
            MaxPoolBackward { .. } => "maxpool_backward",
            MaxPoolGather { .. } => "maxpool_gather",
            MaxUnpool { .. } => "maxunpool",
            AvgPool { .. } => "avgpool",
            AvgPoolBackward { .. } => "avgpool_backward",
            Batchnorm { .. } => "batchnorm",
            BatchnormMean { .. } => "batchnorm_mean",
            BatchnormVar { .. } => "batchnorm_var",
            BatchnormParamGrads { .. } => "batchnorm_param_grads",
            BatchnormInputGrad { .. } => "batchnorm_input_grad",
            Standardize { .. } => "standardize",
            Lstm { .. } => "lstm",
            Gru { .. } => "gru",
        }
    }

    /// The attributes as `name=value` pairs (empty for ops that have none), for listings.
    /// Index lists are summarised by their length: they can be as long as the data.
    pub fn attributes(&self) -> String {
        use OpKind::*;
        let idx = |i: &Arc<Vec<usize>>| format!("[{} positions]", i.len());
        match self {
            Leaf | Alias | ConstantGradient | StopGradient | Unary(_) | AbsComplex | ReluGrad | Binary(_) | Compare(_) | Where | Conj
            | Real | Imag | Complex => String::new(),
            LeakyRelu { scale } | LeakyReluSlope { scale } => format!("scale={scale}"),
            ToDevice { device } => format!("device={}", device.name()),
            Cast { to } => format!("to={to}"),
            Reduce { axes, .. } => format!("axes={axes:?}"),
            Cumsum { axis, reverse } => format!("axis={axis}, reverse={reverse}"),
            Reshape { shape } | BroadcastTo { shape } => format!("shape={shape:?}"),
            Permute { perm } => format!("perm={perm:?}"),
            Flip { axes } => format!("axes={axes:?}"),
            Narrow { axis, start, len } => format!("axis={axis}, start={start}, len={len}"),
            Pad { axis, before, after } => format!("axis={axis}, before={before}, after={after}"),
            Concat { axis } => format!("axis={axis}"),
            Take { idx: i, shape } | ScatterAdd { idx: i, shape } => format!("idx={}, shape={shape:?}", idx(i)),
            IndexPut { idx: i } | PoolGather { idx: i } => format!("idx={}", idx(i)),
            TakeAxis { axis, idx: i } => format!("axis={axis}, idx={}", idx(i)),
            IndexAddAxis { axis, idx: i, n } => format!("axis={axis}, idx={}, n={n}", idx(i)),
            MaxUnpool { idx: i, shape } => format!("idx={}, shape={shape:?}", idx(i)),
            Matmul { transpose_a, transpose_b } => format!("transpose_a={transpose_a}, transpose_b={transpose_b}"),
            Softmax { axis } | LogSoftmax { axis } | SoftmaxLog { axis } => format!("axis={axis}"),
            Conv { params } => conv_attributes(params),
            ConvInputGrad { params, input_spatial } => format!("{}, input_spatial={input_spatial:?}", conv_attributes(params)),
            ConvWeightGrad { params, weight_shape } => format!("{}, weight_shape={weight_shape:?}", conv_attributes(params)),
            MaxPool { window } | MaxPoolBackward { window } | MaxPoolGather { window } => window.describe(),
            AvgPool { window, padding_value_counts } => format!("{}, padding_value_counts={padding_value_counts}", window.describe()),
            AvgPoolBackward { window, padding_value_counts, input_shape } => {
                format!("{}, padding_value_counts={padding_value_counts}, input_shape={input_shape:?}", window.describe())
            }
            Batchnorm { axis, epsilon } | BatchnormParamGrads { axis, epsilon } | BatchnormInputGrad { axis, epsilon } => {
                format!("axis={axis}, epsilon={epsilon}")
            }
            BatchnormMean { axis } | BatchnormVar { axis } => format!("axis={axis}"),
            Standardize { axes, epsilon } => format!("axes={axes:?}, epsilon={epsilon}"),
            Lstm { dims, state, gate } => format!("{}, state={state:?}, gate={gate:?}", dims_attributes(dims)),
            Gru { dims, mode, state, gate } => format!("{}, mode={mode:?}, state={state:?}, gate={gate:?}", dims_attributes(dims)),
        }
    }
}

fn conv_attributes(p: &ConvParams) -> String {
    format!(
        "stride={:?}, dilation={:?}, pad_before={:?}, pad_after={:?}, groups={}, pad_value={}",
        p.stride, p.dilation, p.pad_before, p.pad_after, p.groups, p.pad_value
    )
}

fn dims_attributes(d: &Dims) -> String {
    format!("C={}, H={}, B={}, T={}", d.c, d.h, d.b, d.t)
}

/// What a forward kernel keeps for its fused backward kernel: values the inputs determine
/// (a replay recomputes them), kept so that the first-order backward pass does not.
#[derive(Clone, Default)]
pub enum Saved {
    #[default]
    Nothing,
    /// The flat input position each output element took (maxpool's argmax).
    Indices(Arc<Vec<usize>>),
    /// Per-group mean and 1/σ (batchnorm: per channel; standardize: per group).
    Moments(Arc<Moments>),
    /// The recurrent kernels' per-step buffers, in the order the backward kernel takes them.
    Sequence(Arc<Vec<Buffer>>),
}

pub struct Moments {
    pub mean: Vec<f64>,
    pub invstd: Vec<f64>,
}

impl Saved {
    pub(crate) fn indices(&self) -> Option<&Arc<Vec<usize>>> {
        match self {
            Saved::Indices(i) => Some(i),
            _ => None,
        }
    }
    pub(crate) fn moments(&self) -> Option<&Moments> {
        match self {
            Saved::Moments(m) => Some(m),
            _ => None,
        }
    }
    pub(crate) fn sequence(&self) -> Option<&[Buffer]> {
        match self {
            Saved::Sequence(s) => Some(s),
            _ => None,
        }
    }
}
