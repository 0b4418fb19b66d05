//! `maxpool` and `avgpool` on formatted arrays: the window dims found from the layout, the
//! options resolved per dim, one pooling kernel, the result in the input's layout.

use crate::dl_ops::layout::{KernelInput, OpLayout};
use crate::dl_ops::window::{per_dim, Padding, Sides};
use crate::error::Result;
use crate::labeled::DlArray;
use crate::ops::pool::PoolWindow;

/// A pooling window as the user gave it.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// One size or one per window dim; `None` is MATLAB's "global" (the whole window dims,
    /// stride 1, no padding).
    pub pool_size: Option<Vec<i64>>,
    pub stride: Vec<i64>,
    pub padding: Padding,
}

struct Window {
    layout: OpLayout,
    input: KernelInput,
    kernel: Vec<usize>,
    stride: Vec<usize>,
    sides: Sides,
}

impl Window {
    fn new(op: &str, x: &DlArray, data_format: Option<&str>, o: &PoolOptions) -> Result<Window> {
        let layout = OpLayout::of(op, x, data_format)?;
        let spatial = layout.window_axes(op)?;
        let d = spatial.len();
        let input = layout.to_kernel(op, x, &spatial)?;
        let sizes = input.tensor.shape()[..d].to_vec();
        let (kernel, stride, sides) = match &o.pool_size {
            None => (sizes, vec![1; d], Sides { before: vec![0; d], after: vec![0; d] }),
            Some(k) => {
                let kernel = per_dim(op, "pool_size", k, d, 1)?;
                let stride = per_dim(op, "stride", &o.stride, d, 1)?;
                let sides = o.padding.resolve(op, "padding", &sizes, &kernel, &stride)?;
                (kernel, stride, sides)
            }
        };
        Ok(Window { layout, input, kernel, stride, sides })
    }
}

impl DlArray {
    /// MATLAB's `maxpool`. With `with_indices`, also, for each output element in the output's
    /// row-major order, the flat row-major position in `self` (its own layout) of the maximum
    /// it took (MATLAB's linear indices, 0-based).
    pub fn dlmaxpool(&self, data_format: Option<&str>, o: &PoolOptions, with_indices: bool) -> Result<(DlArray, Option<Vec<i64>>)> {
        const OP: &str = "maxpool";
        let w = Window::new(OP, self, data_format, o)?;
        if !with_indices {
            // Without positions to hand out, a GPU input pools on the GPU.
            let window = PoolWindow::new(&w.kernel, &w.stride, &w.sides.before, &w.sides.after);
            return Ok((w.layout.from_kernel(&w.input.tensor.maxpool_window(&window)?, &w.input.perm)?, None));
        }
        let (y, positions) = w.input.tensor.maxpool(&w.kernel, &w.stride, &w.sides.before, &w.sides.after)?;
        let out = w.layout.from_kernel(&y, &w.input.perm)?;
        let in_x = own_positions(&positions, w.input.tensor.shape(), &w.input.perm);
        // `positions` follow y's kernel-layout order: scatter them into the output's order.
        let all: Vec<usize> = (0..positions.len()).collect();
        let mut indices = vec![0i64; positions.len()];
        for (k, o) in own_positions(&all, y.shape(), &w.input.perm).into_iter().enumerate() {
            indices[o as usize] = in_x[k];
        }
        Ok((out, Some(indices)))
    }

    /// MATLAB's `avgpool`. `padding_counts` (MATLAB's `PaddingValue` 0) divides each window by
    /// the full pool size; without, by the input elements it covers ("mean").
    pub fn dlavgpool(&self, data_format: Option<&str>, o: &PoolOptions, padding_counts: bool) -> Result<DlArray> {
        const OP: &str = "avgpool";
        if o.pool_size.is_none() {
            let layout = OpLayout::of(OP, self, data_format)?;
            let axes: Vec<usize> = layout.window_axes(OP)?.into_iter().filter(|&a| a < self.tensor.ndim()).collect();
            let y = if axes.is_empty() { self.tensor.clone() } else { self.tensor.mean_axes(&axes, true)? };
            return Ok(layout.restore(y));
        }
        let w = Window::new(OP, self, data_format, o)?;
        let y = w.input.tensor.avgpool(&w.kernel, &w.stride, &w.sides.before, &w.sides.after, padding_counts)?;
        w.layout.from_kernel(&y, &w.input.perm)
    }
}

/// Flat positions in the kernel-layout array of shape `kernel_shape` as flat positions in the
/// array's own layout (kernel dim i is own dim `perm[i]`; the appended C / B are size 1).
fn own_positions(positions: &[usize], kernel_shape: &[usize], perm: &[usize]) -> Vec<i64> {
    let n = kernel_shape.len();
    let mut own_shape = vec![1usize; n];
    for (i, &p) in perm.iter().enumerate() {
        own_shape[p] = kernel_shape[i];
    }
    let mut own_strides = vec![1usize; n];
    for i in (0..n.saturating_sub(1)).rev() {
        own_strides[i] = own_strides[i + 1] * own_shape[i + 1];
    }
    // kernel dim i steps through the own layout by the stride of own dim perm[i]
    let stride_of: Vec<usize> = perm.iter().map(|&p| own_strides[p]).collect();
    positions
        .iter()
        .map(|&flat| {
            let (mut rest, mut own) = (flat, 0usize);
            for i in (0..n).rev() {
                own += (rest % kernel_shape[i]) * stride_of[i];
                rest /= kernel_shape[i];
            }
            own as i64
        })
        .collect()
}
