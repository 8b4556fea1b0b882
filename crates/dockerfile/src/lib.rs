//! Dockerfile (Containerfile) parsing for `berth build`, following Docker's documented
//! frontend (BuildKit's parser): `lexer` (parser directives, comments, continuations,
//! heredoc bodies), `words` (cutting an instruction into flags and arguments),
//! `flags` and `mounts` (reading `--flag`s and `RUN --mount` options), `parse` (typed
//! [`Instruction`]s with line numbers), `expand` (Docker's variable substitution, for the
//! builder to apply at build time), and `stages` (stages, references between them and
//! what a `--target` needs).
//!
//! It reads only the text it is given: it never opens files, never looks at the build
//! context and never runs anything.
//!
//! ```
//! let file = dockerfile::parse("FROM alpine AS base\nRUN echo hi\n").unwrap();
//! assert_eq!(file.instructions[1].name(), "RUN");
//! let stages = file.stages(&|_| None).unwrap();
//! assert_eq!(stages.needed_for(Some("base")).unwrap(), vec![0]);
//! ```

pub mod error;
pub mod expand;
pub mod flags;
pub mod heredoc;
pub mod instruction;
pub mod lexer;
pub mod mounts;
pub mod parse;
pub mod stages;
pub mod suggest;
pub mod words;

pub use error::{Error, ExpandError, Warning};
pub use expand::{expand, expand_raw, expand_words};
pub use instruction::*;
pub use lexer::Directives;
pub use parse::{parse, Dockerfile};
pub use stages::{Base, Stage, Stages};
