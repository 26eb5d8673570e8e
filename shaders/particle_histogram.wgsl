// Counts particles per pixel of a view, so the page can draw a million particles as an image
// without reading them back.

struct View {
    // x0, y0 (top-left in world units), x1, y1 (bottom-right)
    bounds: vec4<f32>,
    width: u32,
    height: u32,
    count: u32,
    unused: u32,
}

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var<storage, read> particles: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> bins: array<atomic<u32>>;

@compute @workgroup_size(256)
fn count_particles(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = id.x + id.y * groups.x * 256u;
    if (index >= view.count) {
        return;
    }
    let p = particles[index];
    let u = (p.x - view.bounds.x) / (view.bounds.z - view.bounds.x);
    let v = (p.y - view.bounds.y) / (view.bounds.w - view.bounds.y);
    // NaN fails every comparison and is skipped with the particles outside the view.
    if (u >= 0.0 && u < 1.0 && v >= 0.0 && v < 1.0) {
        let col = min(u32(u * f32(view.width)), view.width - 1u);
        let row = min(u32(v * f32(view.height)), view.height - 1u);
        atomicAdd(&bins[row * view.width + col], 1u);
    }
}
