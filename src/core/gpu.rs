//! The one place burn's wgpu runtime is started, natively and in the page: burn's device, the
//! adapter's name, and the raw wgpu handles under it for hand-written kernels (the particle
//! shaders) that run beside burn's.

use burn::tensor::Device;

/// The wgpu handles burn's runtime was started with, shared so custom kernels run beside burn's.
#[derive(Clone, Debug)]
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
}

/// A started wgpu runtime.
#[derive(Clone, Debug)]
pub struct WgpuStart {
    pub device: Device,
    /// The adapter's name (natively with its graphics API, e.g. `llvmpipe (Vulkan)`).
    pub adapter: String,
    pub gpu: GpuContext,
}

/// Starts burn's wgpu runtime on the default adapter. burn initialises it once per process (or
/// page); callers keep the result rather than calling this twice.
pub async fn start_wgpu() -> Result<WgpuStart, String> {
    let (device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .map_err(|e| format!("burn's wgpu backend failed to start: {e}"))?;
    let info = setup.adapter.get_info();
    let adapter = if cfg!(target_arch = "wasm32") {
        info.name
    } else {
        format!("{} ({:?})", info.name, info.backend)
    };
    Ok(WgpuStart {
        device,
        adapter,
        gpu: GpuContext {
            device: setup.device.clone(),
            queue: setup.queue.clone(),
        },
    })
}

/// The native wgpu runtime, started on first use and shared by every later caller.
#[cfg(not(target_arch = "wasm32"))]
pub fn native_wgpu() -> Result<WgpuStart, String> {
    use std::sync::OnceLock;
    static WGPU: OnceLock<Result<WgpuStart, String>> = OnceLock::new();
    WGPU.get_or_init(|| futures_lite::future::block_on(start_wgpu()))
        .clone()
}
