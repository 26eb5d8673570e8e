//! The registry of image generator families: the page's model list, the link's `model` values
//! and the CLI's `--model` all come from here. A family joins with one line.

use crate::images::generator::GeneratorSpec;

pub fn generators() -> &'static [GeneratorSpec] {
    &[
        crate::images::vae::GENERATOR,
        crate::images::ddpm::GENERATOR,
    ]
}

pub fn find_generator(name: &str) -> Result<&'static GeneratorSpec, String> {
    generators().iter().find(|g| g.name == name).ok_or_else(|| {
        let names: Vec<&str> = generators().iter().map(|g| g.name).collect();
        format!("unknown model `{name}`; known: {}", names.join(", "))
    })
}
