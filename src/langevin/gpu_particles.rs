//! Particles that live on the GPU and move by the WGSL compute shader `shaders/particle_step.wgsl`,
//! on the same wgpu device burn uses (WebGPU in the page, Vulkan/Metal/DX12 natively).
//!
//! A million particles never leave the GPU: the page reads back a few thousand for the metrics and
//! a per-pixel histogram (`shaders/particle_histogram.wgsl`) to draw the rest.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::core::gpu::GpuContext;
use crate::langevin::density::Mixture;
use crate::langevin::particles::{move_key, Move, START_COUNTER};

const STEP_SHADER: &str = include_str!("../../shaders/particle_step.wgsl");
const HISTOGRAM_SHADER: &str = include_str!("../../shaders/particle_histogram.wgsl");
const WORKGROUP: u32 = 256;
/// Moves uploaded together; each sits at its own 256-byte aligned dynamic offset.
const MOVE_SLOTS: usize = 64;
const MOVE_STRIDE: u64 = 256;
const MAX_GROUPS_PER_DIMENSION: u32 = 65_535;

/// What a read-back returns: the first particles and MALA's counters.
#[derive(Clone, Debug, Default)]
pub struct GpuSnapshot {
    pub positions: Vec<[f64; 2]>,
    pub accepted: u64,
    pub proposed: u64,
}

pub struct GpuParticles {
    gpu: GpuContext,
    move_pipeline: wgpu::ComputePipeline,
    histogram_pipeline: wgpu::ComputePipeline,
    histogram_layout: wgpu::BindGroupLayout,
    moves: wgpu::Buffer,
    particles: wgpu::Buffer,
    counters: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    count: u32,
    seed: u64,
    counter: u32,
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform_entry(binding: u32, dynamic: bool, size: u64) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: dynamic,
            min_binding_size: wgpu::BufferSize::new(size),
        },
        count: None,
    }
}

/// A bind-group entry for `buffer` from offset 0; `size: None` binds all of it.
fn bind(binding: u32, buffer: &wgpu::Buffer, size: Option<u64>) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer,
            offset: 0,
            size: size.and_then(wgpu::BufferSize::new),
        }),
    }
}

fn pipeline(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    source: &str,
    entry: &str,
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(entry),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(entry),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// The dispatch size covering `count` threads, folded into two dimensions past the per-dimension
/// limit (the shaders rebuild the flat index).
fn groups_for(count: u32) -> (u32, u32) {
    let groups = count.div_ceil(WORKGROUP).max(1);
    if groups <= MAX_GROUPS_PER_DIMENSION {
        (groups, 1)
    } else {
        (
            MAX_GROUPS_PER_DIMENSION,
            groups.div_ceil(MAX_GROUPS_PER_DIMENSION),
        )
    }
}

fn floats_to_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn words_to_bytes(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The `Move` uniform of the shader: two vec4 then four 32-bit scalars.
fn move_bytes(step: &Move, key: u32, count: u32) -> Vec<u8> {
    let mut bytes = floats_to_bytes(&[
        step.drift[0] as f32,
        step.drift[1] as f32,
        step.drift[2] as f32,
        step.keep as f32,
        step.noise[0] as f32,
        step.noise[1] as f32,
        step.noise[2] as f32,
        step.sigma as f32,
        step.input_scale as f32,
    ]);
    bytes.extend(words_to_bytes(&[u32::from(step.metropolis), key, count]));
    bytes
}

impl GpuParticles {
    /// `count` particles from `N(0, start_scale² I)` following `mixture`'s score. Fails when the
    /// particles do not fit one storage buffer of this device.
    pub fn new(
        gpu: &GpuContext,
        mixture: &Mixture,
        count: u32,
        start_scale: f64,
        seed: u64,
    ) -> Result<Self, String> {
        let device = &gpu.device;
        let particle_bytes = u64::from(count.max(1)) * 8;
        let limits = device.limits();
        if particle_bytes > limits.max_storage_buffer_binding_size {
            return Err(format!(
                "{count} particles need {particle_bytes} bytes, more than this GPU's storage buffer limit ({})",
                limits.max_storage_buffer_binding_size
            ));
        }
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("particle step"),
            entries: &[
                uniform_entry(0, true, 48),
                storage_entry(1, true),
                storage_entry(2, false),
                storage_entry(3, false),
            ],
        });
        let histogram_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("particle histogram"),
            entries: &[
                uniform_entry(0, false, 32),
                storage_entry(1, true),
                storage_entry(2, false),
            ],
        });
        let move_pipeline = pipeline(device, &layout, STEP_SHADER, "move_particles");
        let start_pipeline = pipeline(device, &layout, STEP_SHADER, "start_particles");
        let histogram_pipeline = pipeline(
            device,
            &histogram_layout,
            HISTOGRAM_SHADER,
            "count_particles",
        );
        let buffer = |label: &str, size: u64, usage: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        let moves = buffer(
            "moves",
            MOVE_SLOTS as u64 * MOVE_STRIDE,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let component_data: Vec<f32> = mixture
            .components()
            .iter()
            .filter(|c| c.weight > 0.0)
            .flat_map(|c| {
                [
                    c.mean[0] as f32,
                    c.mean[1] as f32,
                    c.weight.ln() as f32,
                    0.0,
                    c.cov[0] as f32,
                    c.cov[1] as f32,
                    c.cov[2] as f32,
                    0.0,
                ]
            })
            .collect();
        let components = buffer(
            "mixture components",
            component_data.len() as u64 * 4,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        );
        gpu.queue
            .write_buffer(&components, 0, &floats_to_bytes(&component_data));
        let particles = buffer(
            "particles",
            particle_bytes,
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        );
        let counters = buffer(
            "acceptance counters",
            8,
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        );
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("particle step"),
            layout: &layout,
            entries: &[
                bind(0, &moves, Some(48)),
                bind(1, &components, None),
                bind(2, &particles, None),
                bind(3, &counters, None),
            ],
        });
        let this = Self {
            gpu: gpu.clone(),
            move_pipeline,
            histogram_pipeline,
            histogram_layout,
            moves,
            particles,
            counters,
            bind_group,
            count,
            seed,
            counter: START_COUNTER,
        };
        // The start kernel reads its scale from `input_scale`.
        let start = Move {
            input_scale: start_scale,
            ..Move::isotropic(0.0, 0.0, 0.0)
        };
        this.dispatch(
            &start_pipeline,
            &[move_bytes(&start, move_key(seed, START_COUNTER), count)],
        );
        Ok(this)
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    fn dispatch(&self, pipeline: &wgpu::ComputePipeline, uniforms: &[Vec<u8>]) {
        let mut staged = vec![0u8; uniforms.len() * MOVE_STRIDE as usize];
        for (slot, bytes) in uniforms.iter().enumerate() {
            let at = slot * MOVE_STRIDE as usize;
            staged[at..at + bytes.len()].copy_from_slice(bytes);
        }
        // Queue writes land before the next submission, after the previous ones: reusing the
        // buffer for the next batch is safe.
        self.gpu.queue.write_buffer(&self.moves, 0, &staged);
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("particle moves"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("particle moves"),
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            let (x, y) = groups_for(self.count);
            for slot in 0..uniforms.len() {
                pass.set_bind_group(0, &self.bind_group, &[(slot as u64 * MOVE_STRIDE) as u32]);
                pass.dispatch_workgroups(x, y, 1);
            }
        }
        self.gpu.queue.submit([encoder.finish()]);
    }

    /// Queues the moves; nothing waits for the GPU.
    pub fn apply(&mut self, moves: &[Move]) {
        for batch in moves.chunks(MOVE_SLOTS) {
            let uniforms: Vec<Vec<u8>> = batch
                .iter()
                .map(|step| {
                    self.counter = self.counter.wrapping_add(1);
                    move_bytes(step, move_key(self.seed, self.counter), self.count)
                })
                .collect();
            self.dispatch(&self.move_pipeline, &uniforms);
        }
    }

    /// The first `limit` particles and MALA's counters. The copy is queued now; the future owns
    /// what it needs, so the particles may keep moving while it waits.
    pub fn snapshot(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<GpuSnapshot, String>> + 'static {
        let n = limit.min(self.count as usize) as u64;
        let staging = self.staging(8 + n * 8);
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("particle readback"),
            });
        encoder.copy_buffer_to_buffer(&self.counters, 0, &staging, 0, 8);
        if n > 0 {
            encoder.copy_buffer_to_buffer(&self.particles, 0, &staging, 8, n * 8);
        }
        self.gpu.queue.submit([encoder.finish()]);
        let gpu = self.gpu.clone();
        async move {
            let bytes = read_mapped(&gpu, &staging).await?;
            let word = |i: usize| u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap());
            let float = |i: usize| f32::from_bits(word(i)) as f64;
            Ok(GpuSnapshot {
                accepted: word(0) as u64,
                proposed: word(1) as u64,
                positions: (0..n as usize)
                    .map(|p| [float(2 + 2 * p), float(3 + 2 * p)])
                    .collect(),
            })
        }
    }

    /// Particle counts per pixel of a `width × height` view of `[x0, x1] × [y0, y1]`, row 0 at `y0`.
    pub fn histogram(
        &self,
        bounds: [f64; 4],
        width: u32,
        height: u32,
    ) -> impl Future<Output = Result<Vec<u32>, String>> + 'static {
        let device = &self.gpu.device;
        let bin_bytes = u64::from(width.max(1) * height.max(1)) * 4;
        let bins = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("histogram bins"),
            size: bin_bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let view = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("histogram view"),
            size: 32,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut uniform = floats_to_bytes(&bounds.map(|b| b as f32));
        uniform.extend(words_to_bytes(&[width, height, self.count, 0]));
        self.gpu.queue.write_buffer(&view, 0, &uniform);
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("particle histogram"),
            layout: &self.histogram_layout,
            entries: &[
                bind(0, &view, None),
                bind(1, &self.particles, None),
                bind(2, &bins, None),
            ],
        });
        let staging = self.staging(bin_bytes);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("particle histogram"),
        });
        encoder.clear_buffer(&bins, 0, None);
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("particle histogram"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.histogram_pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            let (x, y) = groups_for(self.count);
            pass.dispatch_workgroups(x, y, 1);
        }
        encoder.copy_buffer_to_buffer(&bins, 0, &staging, 0, bin_bytes);
        self.gpu.queue.submit([encoder.finish()]);
        let gpu = self.gpu.clone();
        async move {
            let bytes = read_mapped(&gpu, &staging).await?;
            Ok(bytes
                .chunks_exact(4)
                .map(|w| u32::from_le_bytes(w.try_into().unwrap()))
                .collect())
        }
    }

    fn staging(&self, size: u64) -> wgpu::Buffer {
        self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: size.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }
}

#[derive(Default)]
struct MapState {
    outcome: Option<Result<(), String>>,
    waker: Option<Waker>,
}

/// Resolves when wgpu's map callback has run.
struct MapDone(Arc<Mutex<MapState>>);

impl Future for MapDone {
    type Output = Result<(), String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.0.lock().expect("map state lock");
        match state.outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Maps a staging buffer and copies its bytes out. In the browser the map resolves on a later turn
/// of the event loop (a synchronous wait would deadlock the page); natively we block on the device.
async fn read_mapped(gpu: &GpuContext, staging: &wgpu::Buffer) -> Result<Vec<u8>, String> {
    let state = Arc::new(Mutex::new(MapState::default()));
    let notify = state.clone();
    staging
        .slice(..)
        .map_async(wgpu::MapMode::Read, move |result| {
            let mut state = notify.lock().expect("map state lock");
            state.outcome = Some(result.map_err(|e| format!("GPU read-back failed: {e}")));
            if let Some(waker) = state.waker.take() {
                waker.wake();
            }
        });
    #[cfg(not(target_arch = "wasm32"))]
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| format!("GPU wait failed: {e}"))?;
    #[cfg(target_arch = "wasm32")]
    let _ = gpu;
    MapDone(state).await?;
    let bytes = staging
        .slice(..)
        .get_mapped_range()
        .map_err(|e| format!("GPU read-back failed: {e:?}"))?
        .to_vec();
    staging.unmap();
    Ok(bytes)
}
