//! The load generator's command line. Every knob a run depends on is a flag,
//! and all of them are echoed in the final `RESULT` line, so a figure can
//! always be traced back to the settings that produced it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use latchkey_testkit::{Alg, Attestation, Config, CounterMode};

/// Drive a passkey server that speaks Latchkey's four ceremony routes with
/// real WebAuthn responses from software authenticators.
#[derive(Debug, Clone, Parser)]
#[command(name = "latchkey-bench", version, about)]
pub struct Args {
    /// Base URL to send requests to (connect address).
    #[arg(long, default_value = "http://localhost:8080")]
    pub target: String,
    /// WebAuthn origin the authenticators report [default: the target's origin].
    /// Set it when connecting by IP, e.g. --target http://127.0.0.1:8080 --origin http://localhost:8080.
    #[arg(long)]
    pub origin: Option<String>,
    /// Organisation id (any id works for the peer).
    #[arg(long)]
    pub org: String,
    #[arg(long, value_enum, default_value_t = Scenario::AuthUsername)]
    pub scenario: Scenario,
    /// Ceremonies in flight at once (one task each).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Measured time, e.g. 20s, 1500ms, 2m.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Unmeasured time first, so connections, caches and the JIT are warm.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Users registered during setup (raised to --concurrency if lower: each
    /// worker owns its users, so one authenticator never signs two ceremonies
    /// at once and its counter can't arrive out of order).
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    #[arg(long, value_enum, default_value_t = AlgArg::Es256)]
    pub alg: AlgArg,
    #[arg(long, value_enum, default_value_t = AttestationArg::None)]
    pub attestation: AttestationArg,
    /// The super admin's enrolment token: enrol first, which activates passkeys for the org.
    #[arg(long)]
    pub enrol_token: Option<String>,
    /// Give up on one HTTP request after this long.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Challenges started during setup and never completed, as a login page
    /// with conditional UI leaves behind on every visit that doesn't sign in.
    /// They stay pending for the org's ceremony lifetime.
    #[arg(long, default_value_t = 0)]
    pub abandoned: usize,
    /// A label for the target, copied into the RESULT line.
    #[arg(long, default_value = "")]
    pub label: String,
    /// Also write every measured ceremony to this CSV file (`end_ms,
    /// latency_ms`, from the start of the measured window), to see whether
    /// the slow ones come together (a stall) or spread out (queueing).
    #[arg(long)]
    pub latency_log: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// register/init + register/complete for a new username each time.
    Register,
    /// challenge {username} + verify.
    AuthUsername,
    /// challenge {} + verify with a discoverable credential.
    AuthUsernameless,
    /// 10% registrations, 45% by username, 45% usernameless.
    Mix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgArg {
    Es256,
    Eddsa,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AttestationArg {
    None,
    Packed,
}

impl Args {
    /// The origin the authenticators put in clientDataJSON.
    pub fn origin(&self) -> String {
        self.origin
            .clone()
            .unwrap_or_else(|| origin_of(&self.target))
    }

    /// Every simulated authenticator is configured alike.
    pub fn authenticator_config(&self) -> Config {
        let alg = match self.alg {
            AlgArg::Es256 => Alg::Es256,
            AlgArg::Eddsa => Alg::EdDsa,
        };
        let attestation = match self.attestation {
            AttestationArg::None => Attestation::None,
            AttestationArg::Packed => Attestation::PackedSelf,
        };
        Config::default()
            .alg(alg)
            .attestation(attestation)
            .counter_mode(CounterMode::Incrementing { start: 1 })
    }

    pub fn users(&self) -> usize {
        self.users.max(self.concurrency)
    }
}

/// `scheme://host[:port]` of a URL.
pub fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let host = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{host}")
}

/// `20s`, `1500ms`, `2m`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text:?}"))?;
    let secs = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit in {text:?}: use ms, s or m")),
    };
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_the_units_the_docs_show() {
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn the_origin_drops_the_path() {
        assert_eq!(
            origin_of("http://localhost:8080/x/y"),
            "http://localhost:8080"
        );
        assert_eq!(origin_of("https://a.example"), "https://a.example");
    }
}
