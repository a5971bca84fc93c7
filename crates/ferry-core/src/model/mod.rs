//! The types every layer shares, and nothing that decides: what an app
//! should have ([`desired`]), what exists ([`observed`]), the changes a
//! plan makes ([`action`]), what status says ([`status`], in the words of
//! [`reasons`]), and per domain
//! the types of [`traffic`] and [`autoscaling`]. [`ownership`] and
//! [`blocker`] are the two rules every domain shares.
//!
//! Modules here import only each other (downwards, in the order listed)
//! and [`crate::schedule_runs`]'s types; nothing here imports the layers
//! above.

pub mod ownership;

pub mod blocker;

pub mod traffic;

pub mod autoscaling;

pub mod desired;

pub mod observed;

pub mod action;

pub mod reasons;

pub mod status;
