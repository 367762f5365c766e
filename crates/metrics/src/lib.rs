//! Prometheus metrics of a running node (being built).
