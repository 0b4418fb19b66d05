//! Fused optimizer steps (Adam, RMSProp, SGD with momentum): one dispatch per parameter reads
//! the parameter, its gradient and its state and writes the new parameter and state, from the
//! one template `optim.wgsl`. The update formulas are the core's (`optim/rules.rs`), element
//! for element; the step's scalars (learning rate and bias correction folded in) come from the
//! caller, computed once in float64 and rounded to the dtype as the core's CPU kernel does.

use crate::batch::Binding;
use crate::buffer::{DType, GpuBuffer};
use crate::context::context;
use crate::error::GpuError;
use crate::kernels::prelude;
use crate::pipelines::PipelineKey;

const TEMPLATE: &str = include_str!("optim.wgsl");
const WORKGROUP: u64 = 256;

/// The update rules, with the meaning of their six constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptimRule {
    /// `[β₁, 1−β₁, β₂, 1−β₂, ε, bias-corrected step]`; states: average gradient m, average
    /// squared gradient v. `m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − step·m/(√v + ε)`.
    Adam,
    /// `[ρ, 1−ρ, ε, lr, -, -]`; state: average squared gradient s.
    /// `s ← ρs + (1−ρ)g²; p ← p − lr·g/(√s + ε)`.
    RmsProp,
    /// `[μ, lr, -, -, -, -]`; state: velocity. `v ← μv − lr·g; p ← p + v`.
    Sgdm,
}

impl OptimRule {
    /// How many state arrays the rule keeps per parameter.
    pub fn states(self) -> usize {
        match self {
            OptimRule::Adam => 2,
            OptimRule::RmsProp | OptimRule::Sgdm => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            OptimRule::Adam => "adam",
            OptimRule::RmsProp => "rmsprop",
            OptimRule::Sgdm => "sgdm",
        }
    }

    /// The WGSL of one element's update (sqrt and division only: float64 runs as well).
    fn wgsl(self) -> &'static str {
        match self {
            OptimRule::Adam => {
                "n0 = k[0] * s0 + k[1] * g;\n    n1 = k[2] * s1 + k[3] * (g * g);\n    np = p - k[5] * n0 / (sqrt(n1) + k[4]);"
            }
            OptimRule::RmsProp => "n0 = k[0] * s0 + k[1] * (g * g);\n    np = p - k[3] * g / (sqrt(n0) + k[2]);",
            OptimRule::Sgdm => "n0 = k[0] * s0 - k[1] * g;\n    np = p + n0;",
        }
    }
}

/// The kernel's WGSL for `rule` with the states marked present in `given`.
fn source(rule: OptimRule, dtype: DType, given: &[bool]) -> String {
    let n = rule.states();
    let mut outputs = String::new();
    let mut inputs = String::new();
    let mut loads = String::new();
    let mut stores = String::new();
    for s in 0..n {
        outputs.push_str(&format!("@group(0) @binding({}) var<storage, read_write> s{s}_out: array<T>;\n", 2 + s));
        stores.push_str(&format!("s{s}_out[i] = n{s};\n    "));
    }
    let mut binding = 2 + n;
    for name in ["p_in", "g_in"] {
        inputs.push_str(&format!("@group(0) @binding({binding}) var<storage, read> {name}: array<T>;\n"));
        binding += 1;
    }
    for s in 0..2 {
        if s < n && given.get(s) == Some(&true) {
            inputs.push_str(&format!("@group(0) @binding({binding}) var<storage, read> s{s}_in: array<T>;\n"));
            binding += 1;
            loads.push_str(&format!("let s{s} = s{s}_in[i];\n    "));
        } else {
            loads.push_str(&format!("let s{s} = T(0.0);\n    "));
        }
    }
    let body = TEMPLATE
        .replace("{{OUTPUTS}}", &outputs)
        .replace("{{INPUTS}}", &inputs)
        .replace("{{LOADS}}", loads.trim_end())
        .replace("{{RULE}}", rule.wgsl())
        .replace("{{STORES}}", stores.trim_end())
        .replace("{{T}}", "T");
    format!("{}{body}", prelude(dtype))
}

/// The parameter block: the count, a pad word, the constants as `dtype` (native byte order,
/// as the arena is written).
fn params(n: usize, consts: &[f64; 6], dtype: DType) -> Vec<u32> {
    let mut words = vec![n as u32, 0];
    for &c in consts {
        match dtype {
            DType::F32 => words.push((c as f32).to_bits()),
            DType::F64 => {
                let b = c.to_ne_bytes();
                words.push(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                words.push(u32::from_ne_bytes([b[4], b[5], b[6], b[7]]));
            }
        }
    }
    words
}

/// One step of `rule` over one parameter: `param`, `grad` and each state (`None`: zeros, as
/// MATLAB's `[]`) of one dtype and length; returns the new parameter and the new states, in
/// new buffers (the inputs are never written).
pub fn step(
    rule: OptimRule,
    consts: &[f64; 6],
    param: &GpuBuffer,
    grad: &GpuBuffer,
    states: &[Option<&GpuBuffer>],
) -> Result<(GpuBuffer, Vec<GpuBuffer>), GpuError> {
    let gpu = context()?;
    let (dtype, n) = (param.dtype(), param.len());
    if states.len() != rule.states() {
        return Err(GpuError::InvalidArgument(format!("{} keeps {} states, {} given", rule.name(), rule.states(), states.len())));
    }
    let inputs = std::iter::once(grad).chain(states.iter().flatten().copied());
    if let Some(bad) = inputs.clone().find(|b| b.dtype() != dtype || b.len() != n) {
        return Err(GpuError::InvalidArgument(format!(
            "{}: a gradient or state of {} {} beside a parameter of {n} {}",
            rule.name(),
            bad.len(),
            bad.dtype().name(),
            dtype.name()
        )));
    }
    if n > u32::MAX as usize {
        return Err(GpuError::InvalidArgument("an optimizer step past the kernels' 32-bit indexing".into()));
    }
    gpu.check_dtype(dtype, rule.name())?;
    let new_param = GpuBuffer::uninit(gpu, dtype, n)?;
    let new_states = (0..rule.states()).map(|_| GpuBuffer::uninit(gpu, dtype, n)).collect::<Result<Vec<_>, _>>()?;
    if n == 0 {
        return Ok((new_param, new_states));
    }
    let given: Vec<bool> = states.iter().map(Option::is_some).collect();
    let variant = format!("{}/{}", rule.name(), given.iter().map(|&g| if g { 's' } else { 'z' }).collect::<String>());
    let pipeline = gpu.pipeline(PipelineKey { kernel: "optim", dtype, variant, entry: "main" }, || source(rule, dtype, &given))?;
    fn bind(b: &GpuBuffer) -> Binding<'_> {
        Binding { buffer: b.raw(), bytes: b.size_bytes() }
    }
    let mut bindings = vec![bind(&new_param)];
    bindings.extend(new_states.iter().map(bind));
    bindings.push(bind(param));
    bindings.push(bind(grad));
    bindings.extend(states.iter().flatten().map(|b| bind(b)));
    let grid = gpu.grid((n as u64).div_ceil(WORKGROUP))?;
    gpu.record_dispatch(&pipeline, &params(n, consts, dtype), &bindings, grid)?;
    Ok((new_param, new_states))
}
