//! Tests for the model parser.
