//! End-to-end tests: the real `ferry` and `ferry-controller` binaries and
//! the real AWS SDK against a private local AWS per test.
//!
//! One test binary, several modules, to keep link time down.

mod apply;
mod autoscaling;
mod cli;
mod control;
mod converge;
mod crash;
mod doctor;
mod draining;
mod ecs;
mod failures;
mod faults;
mod health;
mod hostile;
mod installations;
mod logs;
mod output;
mod restart;
mod rollout;
mod scale;
mod schedule;
mod strategies;
mod tasks;
mod tidy;
mod traffic;

use ferry_e2e as support;
