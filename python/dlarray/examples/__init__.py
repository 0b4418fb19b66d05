"""Runnable examples (each is also a module: ``python -m dlarray.examples.train_digits``).

* ``train_digits``: the main job — the seed convolutional network trained on the digits data
  with the canonical custom training loop (``minibatchqueue``, ``sgdmupdate``,
  ``trainingProgressMonitor``); console script ``dlarray-train-digits``.
* ``train_digits_parallel``: the same network trained data-parallel on several processes
  (``mpirun -n 2 python -m dlarray.examples.train_digits_parallel``; ``dlarray.parallel``).
* ``train_lstm``: an LSTM sequence classifier (``lstmLayer(output_mode="last")``, adamupdate).
* ``train_pinn``: a physics-informed network solving a Poisson equation with ``dllaplacian``.
"""

__all__ = ["train_digits", "train_digits_parallel", "train_lstm", "train_pinn"]
