//! The one place a burn backend is chosen. Everything else is generic over `B: Backend`.

use serde::{Deserialize, Serialize};

/// The CPU backend burn calls `ndarray`.
pub type NdArray = burn::backend::NdArray<f32>;
/// burn's newer CPU backend, `flex` (gemm-based convolutions, SIMD).
pub type Flex = burn::backend::Flex;
/// burn's GPU backend (WebGPU in the browser, Vulkan/Metal/DX12 natively).
pub type Wgpu = burn::backend::Wgpu;
/// A backend with automatic differentiation, for training.
pub type Train<B> = burn::backend::Autodiff<B>;

/// Which backend to compute on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// burn-ndarray on the CPU.
    NdArray,
    /// burn-flex on the CPU (the default: measured fastest, see README).
    #[default]
    Flex,
    /// burn-wgpu on a GPU.
    Wgpu,
}

impl BackendKind {
    /// Every backend, CPU first.
    pub const ALL: [BackendKind; 3] = [BackendKind::Flex, BackendKind::NdArray, BackendKind::Wgpu];

    /// Name as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::NdArray => "ndarray",
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
        }
    }
}

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "ndarray" => Ok(Self::NdArray),
            "flex" => Ok(Self::Flex),
            "wgpu" | "webgpu" => Ok(Self::Wgpu),
            other => Err(format!("unknown backend '{other}': choose ndarray, flex or wgpu")),
        }
    }
}

/// Work that runs on whichever backend is chosen at run time.
pub trait BackendTask {
    /// What the work returns.
    type Output;
    /// Do the work on training backend `B` and its device.
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device) -> Self::Output;
}

/// Run `task` on the backend `kind` (default device of each).
pub fn dispatch<T: BackendTask>(kind: BackendKind, task: T) -> T::Output {
    match kind {
        BackendKind::NdArray => task.run::<Train<NdArray>>(Default::default()),
        BackendKind::Flex => task.run::<Train<Flex>>(Default::default()),
        BackendKind::Wgpu => task.run::<Train<Wgpu>>(Default::default()),
    }
}
