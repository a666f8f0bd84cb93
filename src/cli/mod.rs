//! The `pqhsm` management CLI's subcommands, one module per family. Parsing and printing
//! only; the work is done by the core (and, for `rng`, by the entropy bridge).

pub mod rng;
