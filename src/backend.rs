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

/// Natively, set up wgpu on the default adapter, or say in words why not (cubecl panics when the
/// machine has no GPU adapter; that panic is caught here, quietly).
#[cfg(not(target_arch = "wasm32"))]
pub fn init_wgpu_native() -> Result<(), String> {
    use burn::backend::wgpu::{graphics::AutoGraphicsApi, init_setup, WgpuDevice};
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| init_setup::<AutoGraphicsApi>(&WgpuDevice::default(), Default::default()));
    std::panic::set_hook(previous);
    result.map(|_| ()).map_err(|e| {
        let why = e
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| e.downcast_ref::<&str>().copied())
            .unwrap_or("unknown reason");
        let why = why.split(':').next().unwrap_or(why);
        format!("the wgpu backend found no usable GPU adapter on this machine ({why}); use --backend flex")
    })
}

/// Run `task` on the backend `kind` (default device of each).
pub fn dispatch<T: BackendTask>(kind: BackendKind, task: T) -> T::Output {
    match kind {
        BackendKind::NdArray => task.run::<Train<NdArray>>(Default::default()),
        BackendKind::Flex => task.run::<Train<Flex>>(Default::default()),
        BackendKind::Wgpu => task.run::<Train<Wgpu>>(Default::default()),
    }
}
