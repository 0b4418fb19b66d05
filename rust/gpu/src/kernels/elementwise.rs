//! Elementwise ops: unary, binary with numpy broadcasting, comparisons and `where`, all from
//! the one template `elementwise.wgsl` with the op's expression substituted. Each op has two
//! variants: `contiguous` (every input has the output's shape and is row-major: direct
//! indexing) and `strided` (any offset, strides, broadcasting, up to 8 dimensions).

use crate::batch::Binding;
use crate::buffer::{DType, GpuBuffer};
use crate::context::{context, Gpu};
use crate::error::GpuError;
use crate::kernels::{broadcast_shapes, prelude, push_shape, push_strides, Layout};
use crate::pipelines::PipelineKey;

const TEMPLATE: &str = include_str!("elementwise.wgsl");
const WORKGROUP: u64 = 256;

/// Ops of one operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Abs,
    Sign,
    Sqrt,
    Square,
    Reciprocal,
    Floor,
    Ceil,
    /// Half to even, as numpy and the host.
    Round,
    Relu,
    Exp,
    Log,
    Sin,
    Cos,
    Tan,
    Tanh,
    Sigmoid,
    /// log(1 + x), accurate for small x.
    Log1p,
    Sinh,
    Cosh,
    Asin,
    Acos,
    Atan,
    /// The error function, within about 2e-7 relative error.
    Erf,
    /// The identity: materialises a strided view (permute, broadcast, slice) contiguously.
    Copy,
}

/// Ops of two broadcast operands. Comparisons give 1 where true and 0 where false, in the
/// operands' dtype.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// numpy's power: negative bases with integral exponents are defined, 0^0 = 1.
    Pow,
    /// NaN if either operand is NaN, as numpy.
    Maximum,
    Minimum,
    /// `atan2(x0, x1)`, the angle of the point (x1, x0), with C's signed zeros and infinities.
    Atan2,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// relu's backward: `x0` (the gradient) where `x1` (relu's input) is positive, else 0
    /// (NaN inputs included).
    ReluGrad,
    /// leakyrelu of `x0` with the slope `x1` below zero: `x0 > 0 ? x0 : x1·x0` (NaN stays NaN).
    LeakyRelu,
    /// leakyrelu's derivative: 1 where `x0 > 0`, else `x1`.
    LeakyReluSlope,
}

/// An op's WGSL: its expression over x0, x1, x2, helper functions, and whether it needs
/// 32-bit-only builtins (the exponential, logarithmic and trigonometric ones have no 64-bit
/// form in Vulkan's, Metal's or DX12's shading languages).
struct Spec {
    name: &'static str,
    expr: &'static str,
    helpers: &'static str,
    f32_only: bool,
}

const fn spec(name: &'static str, expr: &'static str, f32_only: bool) -> Spec {
    Spec { name, expr, helpers: "", f32_only }
}

const POW_HELPER: &str = "
fn pow_np(a: T, b: T) -> T {
    if (b == T(0.0)) {
        return T(1.0);
    }
    if (a >= T(0.0)) {
        return pow(a, b);
    }
    if (b != floor(b)) {
        let z = a - a;
        return z / z;
    }
    let m = pow(-a, b);
    return select(m, -m, fract(b * T(0.5)) != T(0.0));
}
";

/// erf by its Taylor series below 0.5 (five terms: the next is under 2e-8 relative), and
/// above as 1 − erfc with Numerical Recipes' Chebyshev-fitted erfc (relative error below
/// 1.2e-7), which keeps small arguments free of the cancellation in 1 − erfc.
const ERF_HELPER: &str = "
fn erf_approx(x: T) -> T {
    let a = abs(x);
    if (a < T(0.5)) {
        let s = x * x;
        return x * T(1.1283791670955126) * (T(1.0) + s * (T(-1.0 / 3.0) + s * (T(0.1) + s * (T(-1.0 / 42.0) + s * (T(1.0 / 216.0) + s * T(-1.0 / 1320.0))))));
    }
    let t = T(1.0) / (T(1.0) + T(0.5) * a);
    let p = T(-1.26551223) + t * (T(1.00002368) + t * (T(0.37409196) + t * (T(0.09678418) + t * (T(-0.18628806)
        + t * (T(0.27886807) + t * (T(-1.13520398) + t * (T(1.48851587) + t * (T(-0.82215223) + t * T(0.17087277)))))))));
    let erfc = t * exp(p - a * a);
    return select(T(1.0) - erfc, erfc - T(1.0), x < T(0.0));
}
";

/// log1p: for |x| < 1/4 as 2·atanh(z), z = x/(2 + x) (|z| < 1/7), by its odd series to z¹¹
/// (the next term is below 1e-12 relative): no 1 + x is formed, whose rounding would be most
/// of a small result. Above, log(1 + x) loses under 3e-7 relative.
const LOG1P_HELPER: &str = "
fn log1p_approx(x: T) -> T {
    if (abs(x) < T(0.25)) {
        let z = x / (T(2.0) + x);
        let s = z * z;
        return T(2.0) * z * (T(1.0) + s * (T(1.0 / 3.0) + s * (T(0.2) + s * (T(1.0 / 7.0) + s * (T(1.0 / 9.0) + s * T(1.0 / 11.0))))));
    }
    return log(T(1.0) + x);
}
";

/// sinh by its Taylor series below 1 (to x¹¹; the next term is below 2e-10 relative), where
/// (eˣ − e⁻ˣ)/2 would cancel; the builtin above.
const SINH_HELPER: &str = "
fn sinh_approx(x: T) -> T {
    if (abs(x) < T(1.0)) {
        let s = x * x;
        return x * (T(1.0) + s * (T(1.0 / 6.0) + s * (T(1.0 / 120.0) + s * (T(1.0 / 5040.0) + s * (T(1.0 / 362880.0) + s * T(1.0 / 39916800.0))))));
    }
    return sinh(x);
}
";

/// atan, asin and acos from Cephes' `atanf` (range reduction to |x| ≤ tan(π/8), then a
/// degree-9 odd polynomial; about 1e-7 relative error): drivers' own inverse trigonometric
/// functions are far less accurate (lavapipe's asin is off by 4e-4). asin(x) = atan(x/√(1−x²))
/// and acos(x) = 2·atan(√((1−x)/(1+x))), with 1 − x² formed as (1 − x)(1 + x).
const ATAN_HELPER: &str = "
fn atan_approx(x: T) -> T {
    let a = abs(x);
    var y = T(0.0);
    var r = a;
    if (a > T(2.414213562373095)) {
        y = T(1.5707963267948966);
        r = T(-1.0) / a;
    } else if (a > T(0.4142135623730950)) {
        y = T(0.7853981633974483);
        r = (a - T(1.0)) / (a + T(1.0));
    }
    let z = r * r;
    y = y + (((T(8.05374449538e-2) * z - T(1.38776856032e-1)) * z + T(1.99777106478e-1)) * z - T(3.33329491539e-1)) * z * r + r;
    return select(y, -y, x < T(0.0));
}
fn asin_approx(x: T) -> T {
    return atan_approx(x / sqrt((T(1.0) - x) * (T(1.0) + x)));
}
fn acos_approx(x: T) -> T {
    return T(2.0) * atan_approx(sqrt((T(1.0) - x) / (T(1.0) + x)));
}
fn atan2_approx(y: T, x: T) -> T {
    let ax = abs(x);
    let ay = abs(y);
    // The first octant's angle from the ratio (inf when x is 0: pi/2), then C's special
    // cases, which the ratio cannot tell apart: 0/0 and inf/inf.
    var a = atan_approx(ay / ax);
    if (ay == T(0.0)) {
        a = T(0.0);
    } else if (ax == ay && ax > T(3.4028234663852886e38)) {
        a = T(0.7853981633974483);
    }
    // x < 0, or -0: the angle from the negative axis. The signs come from the bits, so
    // that -0 counts as negative.
    a = select(a, T(3.141592653589793) - a, (bitcast<u32>(x) >> 31u) == 1u);
    a = select(a, -a, (bitcast<u32>(y) >> 31u) == 1u);
    return select(a, x + y, is_nan(x) || is_nan(y));
}
";

const NAN_MAX: &str = "select(max(x0, x1), x0 + x1, is_nan(x0) || is_nan(x1))";
const NAN_MIN: &str = "select(min(x0, x1), x0 + x1, is_nan(x0) || is_nan(x1))";

impl UnaryOp {
    fn spec(self) -> Spec {
        use UnaryOp::*;
        match self {
            Neg => spec("neg", "-x0", false),
            Abs => spec("abs", "abs(x0)", false),
            Sign => spec("sign", "select(sign(x0), x0, is_nan(x0))", false),
            Sqrt => spec("sqrt", "sqrt(x0)", false),
            Square => spec("square", "x0 * x0", false),
            Reciprocal => spec("reciprocal", "T(1.0) / x0", false),
            Floor => spec("floor", "floor(x0)", false),
            Ceil => spec("ceil", "ceil(x0)", false),
            Round => spec("round", "round(x0)", false),
            Relu => spec("relu", "select(max(x0, T(0.0)), x0, is_nan(x0))", false),
            Exp => spec("exp", "exp(x0)", true),
            Log => spec("log", "log(x0)", true),
            Sin => spec("sin", "sin(x0)", true),
            Cos => spec("cos", "cos(x0)", true),
            Tan => spec("tan", "tan(x0)", true),
            Tanh => spec("tanh", "tanh(x0)", true),
            // Split by sign so exp never overflows.
            Sigmoid => spec("sigmoid", "select(exp(x0) / (T(1.0) + exp(x0)), T(1.0) / (T(1.0) + exp(-x0)), x0 >= T(0.0))", true),
            Log1p => Spec { name: "log1p", expr: "log1p_approx(x0)", helpers: LOG1P_HELPER, f32_only: true },
            Sinh => Spec { name: "sinh", expr: "sinh_approx(x0)", helpers: SINH_HELPER, f32_only: true },
            Cosh => spec("cosh", "cosh(x0)", true),
            Asin => Spec { name: "asin", expr: "asin_approx(x0)", helpers: ATAN_HELPER, f32_only: true },
            Acos => Spec { name: "acos", expr: "acos_approx(x0)", helpers: ATAN_HELPER, f32_only: true },
            Atan => Spec { name: "atan", expr: "atan_approx(x0)", helpers: ATAN_HELPER, f32_only: true },
            Erf => Spec { name: "erf", expr: "erf_approx(x0)", helpers: ERF_HELPER, f32_only: true },
            Copy => spec("copy", "x0", false),
        }
    }
}

impl BinaryOp {
    fn spec(self) -> Spec {
        use BinaryOp::*;
        match self {
            Add => spec("add", "x0 + x1", false),
            Sub => spec("sub", "x0 - x1", false),
            Mul => spec("mul", "x0 * x1", false),
            Div => spec("div", "x0 / x1", false),
            Pow => Spec { name: "pow", expr: "pow_np(x0, x1)", helpers: POW_HELPER, f32_only: true },
            Maximum => spec("maximum", NAN_MAX, false),
            Minimum => spec("minimum", NAN_MIN, false),
            Atan2 => Spec { name: "atan2", expr: "atan2_approx(x0, x1)", helpers: ATAN_HELPER, f32_only: true },
            Eq => spec("eq", "select(T(0.0), T(1.0), x0 == x1)", false),
            // Not "==": true where either operand is NaN, as numpy.
            Ne => spec("ne", "select(T(1.0), T(0.0), x0 == x1)", false),
            Lt => spec("lt", "select(T(0.0), T(1.0), x0 < x1)", false),
            Le => spec("le", "select(T(0.0), T(1.0), x0 <= x1)", false),
            Gt => spec("gt", "select(T(0.0), T(1.0), x0 > x1)", false),
            Ge => spec("ge", "select(T(0.0), T(1.0), x0 >= x1)", false),
            ReluGrad => spec("relu_grad", "select(T(0.0), x0, x1 > T(0.0))", false),
            LeakyRelu => spec("leakyrelu", "select(x1 * x0, x0, x0 > T(0.0))", false),
            LeakyReluSlope => spec("leakyrelu_slope", "select(x1, T(1.0), x0 > T(0.0))", false),
        }
    }
}

const WHERE: Spec = spec("where", "select(x2, x1, x0 != T(0.0))", false);

/// The kernel's WGSL for `spec` over `arity` inputs of `dtype`.
fn source(spec: &Spec, dtype: DType, arity: usize, contiguous: bool) -> String {
    let inputs: String = (0..arity).map(|k| format!("@group(0) @binding({}) var<storage, read> src{k}: array<T>;\n", k + 2)).collect();
    let loads: String =
        (0..arity)
            .map(|k| {
                if contiguous {
                    format!("let x{k} = src{k}[idx];\n    ")
                } else {
                    format!("let x{k} = src{k}[offset_of({k}u, idx)];\n    ")
                }
            })
            .collect();
    let body = TEMPLATE
        .replace("{{INPUTS}}", &inputs)
        .replace("{{HELPERS}}", spec.helpers)
        .replace("{{LOADS}}", loads.trim_end())
        .replace("{{EXPR}}", spec.expr)
        .replace("{{T}}", "T");
    format!("{}{body}", prelude(dtype))
}

/// Runs `spec` over `inputs` broadcast to `shape`; the result is contiguous of that shape.
fn run(gpu: &Gpu, spec: &Spec, inputs: &[(&GpuBuffer, &Layout)], shape: &[usize]) -> Result<GpuBuffer, GpuError> {
    let dtype = inputs[0].0.dtype();
    if inputs.iter().any(|(b, _)| b.dtype() != dtype) {
        return Err(GpuError::InvalidArgument(format!("`{}` needs operands of one dtype", spec.name)));
    }
    gpu.check_dtype(dtype, spec.name)?;
    if dtype == DType::F64 && spec.f32_only {
        return Err(GpuError::UnsupportedDType { dtype: dtype.name(), op: spec.name.to_string(), adapter: gpu.info.name.clone() });
    }
    let views: Vec<Layout> = inputs
        .iter()
        .map(|(b, l)| {
            l.check_within(b.len())?;
            l.broadcast_to(shape)
        })
        .collect::<Result<_, _>>()?;
    let out_layout = Layout::contiguous(shape);
    out_layout.check_within(usize::MAX)?;
    let n = out_layout.numel();
    let out = GpuBuffer::uninit(gpu, dtype, n)?;
    if n == 0 {
        return Ok(out);
    }
    let contiguous = views.iter().all(|v| v.is_contiguous());
    let variant = format!("{}/{}", spec.name, if contiguous { "contiguous" } else { "strided" });
    let kernel = if inputs.len() == 1 {
        "unary"
    } else if inputs.len() == 2 {
        "binary"
    } else {
        "ternary"
    };
    let pipeline = gpu.pipeline(PipelineKey { kernel, dtype, variant, entry: "main" }, || source(spec, dtype, inputs.len(), contiguous))?;

    let mut params = vec![n as u32, shape.len() as u32];
    push_shape(&mut params, shape);
    for v in &views {
        push_strides(&mut params, v);
    }
    let mut bindings = vec![Binding { buffer: out.raw(), bytes: out.size_bytes() }];
    bindings.extend(inputs.iter().map(|(b, _)| Binding { buffer: b.raw(), bytes: b.size_bytes() }));
    let grid = gpu.grid((n as u64).div_ceil(WORKGROUP))?;
    gpu.record_dispatch(&pipeline, &params, &bindings, grid)?;
    Ok(out)
}

/// `op(x)` over the view `layout` of `x`; the result is contiguous of the view's shape.
pub fn unary(op: UnaryOp, x: &GpuBuffer, layout: &Layout) -> Result<GpuBuffer, GpuError> {
    run(context()?, &op.spec(), &[(x, layout)], &layout.shape)
}

/// `op(a, b)` with numpy broadcasting; returns the result (contiguous) and its shape.
pub fn binary(
    op: BinaryOp,
    a: &GpuBuffer,
    a_layout: &Layout,
    b: &GpuBuffer,
    b_layout: &Layout,
) -> Result<(GpuBuffer, Vec<usize>), GpuError> {
    let shape = broadcast_shapes(&a_layout.shape, &b_layout.shape)?;
    let out = run(context()?, &op.spec(), &[(a, a_layout), (b, b_layout)], &shape)?;
    Ok((out, shape))
}

/// `a` where `cond` is nonzero, else `b`, all three broadcast together (numpy's `where`).
pub fn where_(
    cond: &GpuBuffer,
    cond_layout: &Layout,
    a: &GpuBuffer,
    a_layout: &Layout,
    b: &GpuBuffer,
    b_layout: &Layout,
) -> Result<(GpuBuffer, Vec<usize>), GpuError> {
    let shape = broadcast_shapes(&broadcast_shapes(&cond_layout.shape, &a_layout.shape)?, &b_layout.shape)?;
    let out = run(context()?, &WHERE, &[(cond, cond_layout), (a, a_layout), (b, b_layout)], &shape)?;
    Ok((out, shape))
}
