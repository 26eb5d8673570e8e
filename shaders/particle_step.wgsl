// One Langevin-family move of every particle, the rule of `src/particles.rs` in f32:
//   x ← keep·x + D·s(input_scale·x; σ) + L·ζ
// where s is the score of the Gaussian mixture convolved with N(0, σ²I), or, when `metropolis`
// is set, the MALA move (ULA proposal with D = τI, L = √(2τ)I, Metropolis–Hastings accept).
// The noise comes from the same counter-based PCG hash as the CPU path, so both see the same ζ.

struct Move {
    // a, b, d of the symmetric drift matrix D, then `keep`.
    drift_keep: vec4<f32>,
    // l11, l21, l22 of the lower-triangular noise factor L, then σ.
    noise_sigma: vec4<f32>,
    input_scale: f32,
    metropolis: u32,
    key: u32,
    count: u32,
}

struct Component {
    // mean x, mean y, log weight, unused
    mean_log_weight: vec4<f32>,
    // a, b, d of the covariance, unused
    cov: vec4<f32>,
}

struct Counters {
    accepted: atomic<u32>,
    proposed: atomic<u32>,
}

@group(0) @binding(0) var<uniform> step: Move;
@group(0) @binding(1) var<storage, read> components: array<Component>;
@group(0) @binding(2) var<storage, read_write> particles: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> counters: Counters;

fn pcg_hash(input: u32) -> u32 {
    let state = input * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

struct Draw {
    z: vec2<f32>,
    u: f32,
}

fn particle_noise(key: u32, index: u32) -> Draw {
    let h = pcg_hash(key ^ pcg_hash(index));
    let h1 = pcg_hash(h);
    let h2 = pcg_hash(h1);
    let h3 = pcg_hash(h2);
    let unit = 1.0 / 16777216.0;
    let u1 = f32((h1 >> 8u) + 1u) * unit;
    let u2 = f32(h2 >> 8u) * unit;
    let u3 = (f32(h3 >> 8u) + 0.5) * unit;
    let radius = sqrt(-2.0 * log(u1));
    let angle = 6.283185307179586 * u2;
    return Draw(vec2<f32>(radius * cos(angle), radius * sin(angle)), u3);
}

struct LogDensityScore {
    log_density: f32,
    score: vec2<f32>,
}

// log π_σ(y) (up to a constant) and its gradient, by a streaming log-sum-exp over components so
// that neither underflows far from the data.
fn log_density_and_score(y: vec2<f32>, sigma: f32) -> LogDensityScore {
    let s2 = sigma * sigma;
    var best = -3.0e38;
    var total = 0.0;
    var score = vec2<f32>(0.0, 0.0);
    let k_count = arrayLength(&components);
    for (var k = 0u; k < k_count; k = k + 1u) {
        let c = components[k];
        let a = c.cov.x + s2;
        let b = c.cov.y;
        let d = c.cov.z;
        let dd = d + s2;
        let det = a * dd - b * b;
        let diff = y - c.mean_log_weight.xy;
        // inverse covariance times diff
        let w = vec2<f32>(dd * diff.x - b * diff.y, a * diff.y - b * diff.x) / det;
        let log_term = c.mean_log_weight.z - 0.5 * log(det) - 0.5 * dot(diff, w);
        if (log_term > best) {
            let rescale = exp(best - log_term);
            total = total * rescale;
            score = score * rescale;
            best = log_term;
        }
        let r = exp(log_term - best);
        total = total + r;
        score = score - r * w;
    }
    return LogDensityScore(best + log(total), score / total);
}

fn apply_drift(s: vec2<f32>) -> vec2<f32> {
    let m = step.drift_keep;
    return vec2<f32>(m.x * s.x + m.y * s.y, m.y * s.x + m.z * s.y);
}

fn apply_noise(z: vec2<f32>) -> vec2<f32> {
    let l = step.noise_sigma;
    return vec2<f32>(l.x * z.x, l.y * z.x + l.z * z.y);
}

fn log_q(dest: vec2<f32>, origin: vec2<f32>, s: vec2<f32>, tau: f32) -> f32 {
    let d = dest - origin - tau * s;
    return -dot(d, d) / (4.0 * tau);
}

@compute @workgroup_size(256)
fn move_particles(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    // Dispatches wider than 65 535 groups fold into a second dimension.
    let index = id.x + id.y * groups.x * 256u;
    if (index >= step.count) {
        return;
    }
    let x = particles[index];
    let draw = particle_noise(step.key, index);
    if (step.metropolis == 1u) {
        let tau = step.drift_keep.x;
        let at_x = log_density_and_score(x, 0.0);
        let y = x + tau * at_x.score + sqrt(2.0 * tau) * draw.z;
        let at_y = log_density_and_score(y, 0.0);
        let log_ratio = at_y.log_density + log_q(x, y, at_y.score, tau)
            - at_x.log_density - log_q(y, x, at_x.score, tau);
        atomicAdd(&counters.proposed, 1u);
        // A NaN ratio fails the comparison, so a broken proposal is rejected.
        if (log(draw.u) < log_ratio) {
            particles[index] = y;
            atomicAdd(&counters.accepted, 1u);
        }
        return;
    }
    let s = log_density_and_score(step.input_scale * x, step.noise_sigma.w).score;
    particles[index] = step.drift_keep.w * x + apply_drift(s) + apply_noise(draw.z);
}

// Particles from N(0, scale² I), drawn with the move key of counter 0.
@compute @workgroup_size(256)
fn start_particles(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let index = id.x + id.y * groups.x * 256u;
    if (index >= step.count) {
        return;
    }
    particles[index] = step.input_scale * particle_noise(step.key, index).z;
}
