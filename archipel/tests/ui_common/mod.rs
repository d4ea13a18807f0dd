//! Helpers of the web interface's browser tests: a dev cluster started as a user starts it,
//! headless Chromium driven over WebDriver (fantoccini + chromedriver), automatic accessibility
//! checks, a SIP made for the scenario, and the same interface over plain HTTP.

#![allow(dead_code)]

pub mod a11y;
pub mod browser;
pub mod dev;
pub mod http;
pub mod sip;
