//! `berth cp`: copying between the host and a container.
