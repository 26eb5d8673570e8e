//! Command-line flags generated from a link's parameter struct: one `--key` per field of the
//! struct, named as in links, so the flag list is the struct's field list and nothing else.
//! Values go through the link's own decoder, so a flag means exactly what the same key means in
//! a link, and a value the page would refuse with a notice is an error here.

use std::marker::PhantomData;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use genlab::core::link::{decode_params, to_object, value_text, UrlParams};

/// The flags a user gave for `T`'s fields (the others keep `T`'s defaults).
pub struct LinkFlags<T> {
    pub pairs: Vec<(String, String)>,
    params: PhantomData<T>,
}

impl<T> Default for LinkFlags<T> {
    fn default() -> Self {
        Self {
            pairs: Vec::new(),
            params: PhantomData,
        }
    }
}

impl<T: UrlParams> LinkFlags<T> {
    /// Takes out the value given for `key`, for a flag that means more on the command line than
    /// in a link (`--density mixture.npz`).
    pub fn take(&mut self, key: &str) -> Option<String> {
        let at = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(at).1)
    }

    /// The parameters, or every reason the link decoder gave for refusing a flag.
    pub fn decode(&self) -> Result<T, String> {
        let mut notices = Vec::new();
        let params = decode_params(&self.pairs, &mut notices);
        if notices.is_empty() {
            Ok(params)
        } else {
            Err(notices
                .iter()
                .map(|n| format!("--{n}"))
                .collect::<Vec<_>>()
                .join("; "))
        }
    }
}

impl<T: UrlParams> FromArgMatches for LinkFlags<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Self::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for key in to_object(&T::default()).keys() {
            if matches.value_source(key) != Some(ValueSource::CommandLine) {
                continue;
            }
            if let Some(value) = matches.get_one::<String>(key) {
                self.pairs.push((key.clone(), value.clone()));
            }
        }
        Ok(())
    }
}

impl<T: UrlParams> Args for LinkFlags<T> {
    fn augment_args(mut command: Command) -> Command {
        let choices = T::choices();
        for (key, default) in to_object(&T::default()) {
            let mut help = format!("[default: {}]", value_text(&default));
            if let Some((_, names)) = choices.iter().find(|(field, _)| *field == key) {
                help = format!("one of {}; {help}", names.join(", "));
            }
            command = command.arg(Arg::new(key.clone()).long(key).help(help));
        }
        command
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}
