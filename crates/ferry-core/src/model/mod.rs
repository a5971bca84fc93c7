//! The types every layer shares: what an app should have ([`desired`]),
//! what exists ([`observed`], [`runs`], [`stops`]), the changes a plan makes
//! ([`action`]), what status says ([`status`], in the words of
//! [`reasons`]), and the types of the [`traffic`] and [`autoscaling`]
//! domains. The only rules here are those the types carry and every layer
//! applies alike: whose a resource is ([`ownership`]), who owns an
//! autoscaled desired count ([`autoscaling`]), why a plan is blocked
//! ([`blocker`]).
//!
//! Modules here import only each other, downwards in the order listed;
//! nothing here imports the layers above.

pub mod ownership;

pub mod blocker;

pub mod traffic;

pub mod alarms;

pub mod autoscaling;

pub mod task;

pub mod desired;

pub mod runs;

pub mod stops;

pub mod deployments;

pub mod observed;

pub mod action;

pub mod reasons;

pub mod status;
