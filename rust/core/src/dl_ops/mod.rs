//! The deep-learning ops on formatted arrays, as MATLAB defines them: where an input's S, C,
//! B and T dims are (`layout`), the window options of convolution and pooling (`window`),
//! and the ops that take a formatted array and its options and run their kernel once
//! (`conv`, `pool`, `fullyconnect`). The kernels themselves (`ops/`) know only the fixed
//! layout (S..., C, B).

pub mod conv;
pub mod fullyconnect;
pub mod layout;
pub mod pool;
pub mod window;

pub use conv::ConvOptions;
pub use layout::OpLayout;
pub use pool::PoolOptions;
pub use window::Padding;
