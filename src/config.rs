//! Typed settings from the environment (a `.env` file may set them; see the README).
//! Secrets are wrapped so that they never print in logs or debug output.

use std::path::PathBuf;

use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};

use crate::db::registry::{DATABASES, Database};

/// The URLs of the registry's databases (`db::registry`), or none: with none, a private
/// cluster is started.
#[derive(Clone, Debug)]
pub struct DatabaseUrls {
    pub main: SecretString,
    pub aas: SecretString,
    pub enetworks: SecretString,
}

impl DatabaseUrls {
    /// Each database's URL from `url`.
    pub fn from_fn(url: impl Fn(&Database) -> String) -> DatabaseUrls {
        let [main, aas, enetworks] = &DATABASES;
        DatabaseUrls { main: url(main).into(), aas: url(aas).into(), enetworks: url(enetworks).into() }
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub addr: String,
    pub data_dir: PathBuf,
    pub database_urls: Option<DatabaseUrls>,
    /// `PORTAL_SESSION_KEY`; when unset a development key is kept in the data folder.
    pub session_key: Option<SecretString>,
    /// VAT in percent (15 in South Africa).
    pub vat_rate: Decimal,
    /// `PORTAL_PG_BIN`: the folder holding `initdb` and `postgres` for the private
    /// cluster; when unset they are looked up in PATH and the usual package folders.
    pub pg_bin: Option<PathBuf>,
    /// `PORTAL_REDIS_URL`: keep sessions in Redis so that several instances share them.
    pub redis_url: Option<SecretString>,
    /// `PORTAL_METRICS_TOKEN`: the bearer token `/metrics` asks for; unset, only
    /// loopback clients may read it.
    pub metrics_token: Option<SecretString>,
    /// `PORTAL_PUBLIC_URL`: where people reach the portal (`https://portal.example.co.za`).
    /// An `https://` address turns on HSTS.
    pub public_url: Option<String>,
    /// `PORTAL_GRACE_DAYS`: how many days a month may stay unpaid before its services
    /// are suspended (default 7).
    pub grace_days: u32,
    /// `PORTAL_API_RATE` and `PORTAL_API_BURST`: requests a second each API key may send
    /// on average, and in a burst (default 1000 and 2000).
    pub api_rate: u32,
    pub api_burst: u32,
}

/// How long a month may stay unpaid before its services are suspended, by default.
pub const DEFAULT_GRACE_DAYS: u32 = 7;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "set all three of DATABASE_URL_MAIN, DATABASE_URL_AAS and DATABASE_URL_ENETWORKS, or none of them (missing: {0})"
    )]
    PartialDatabaseUrls(String),
    #[error("PORTAL_SESSION_KEY must be at least 64 bytes long (it has {0})")]
    ShortSessionKey(usize),
    #[error("PORTAL_VAT_RATE must be a percentage between 0 and 100, such as 15 (got {0:?})")]
    VatRate(String),
    #[error(
        "PORTAL_PUBLIC_URL must be an http:// or https:// address, such as https://portal.example.co.za (got {0:?})"
    )]
    PublicUrl(String),
    #[error("PORTAL_GRACE_DAYS must be a whole number of days, such as 7 (got {0:?})")]
    GraceDays(String),
    #[error("{0} must be a whole number of requests from 1 to 100000, such as 1000 (got {1:?})")]
    ApiRate(&'static str, String),
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let missing: Vec<&str> =
            DATABASES.iter().map(|db| db.url_setting).filter(|setting| get(setting).is_none()).collect();
        let database_urls = match missing.len() {
            0 => Some(DatabaseUrls::from_fn(|db| get(db.url_setting).unwrap_or_default())),
            n if n == DATABASES.len() => None,
            _ => return Err(ConfigError::PartialDatabaseUrls(missing.join(", "))),
        };
        let session_key = match get("PORTAL_SESSION_KEY") {
            Some(key) if key.len() < 64 => return Err(ConfigError::ShortSessionKey(key.len())),
            key => key.map(SecretString::from),
        };
        let vat_rate = match get("PORTAL_VAT_RATE") {
            None => Decimal::from(15),
            Some(raw) => match raw.trim().parse::<Decimal>() {
                Ok(rate) if rate >= Decimal::ZERO && rate <= Decimal::ONE_HUNDRED => rate,
                _ => return Err(ConfigError::VatRate(raw)),
            },
        };
        let public_url = match get("PORTAL_PUBLIC_URL") {
            None => None,
            Some(raw) => match url::Url::parse(raw.trim()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(raw.trim().to_owned()),
                _ => return Err(ConfigError::PublicUrl(raw)),
            },
        };
        let grace_days = match get("PORTAL_GRACE_DAYS") {
            None => DEFAULT_GRACE_DAYS,
            Some(raw) => match raw.trim().parse::<u32>() {
                Ok(days) if days <= 365 => days,
                _ => return Err(ConfigError::GraceDays(raw)),
            },
        };
        let requests = |setting: &'static str, default: u32| match get(setting) {
            None => Ok(default),
            Some(raw) => match raw.trim().parse::<u32>() {
                Ok(n) if (1..=100_000).contains(&n) => Ok(n),
                _ => Err(ConfigError::ApiRate(setting, raw)),
            },
        };
        let api_rate = requests("PORTAL_API_RATE", crate::routes::api::rate_limit::DEFAULT_RATE)?;
        let api_burst = requests("PORTAL_API_BURST", crate::routes::api::rate_limit::DEFAULT_BURST)?;
        Ok(Settings {
            addr: get("PORTAL_ADDR").unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            data_dir: PathBuf::from(get("PORTAL_DATA_DIR").unwrap_or_else(|| "./.portal".to_owned())),
            database_urls,
            session_key,
            vat_rate,
            pg_bin: get("PORTAL_PG_BIN").map(PathBuf::from),
            redis_url: get("PORTAL_REDIS_URL").map(SecretString::from),
            metrics_token: get("PORTAL_METRICS_TOKEN").map(SecretString::from),
            public_url,
            grace_days,
            api_rate,
            api_burst,
        })
    }

    /// The cookie key: the configured one, or a development key generated once and kept
    /// (mode 0600) in the data folder, so sessions survive a restart.
    pub fn session_key_bytes(&self) -> std::io::Result<Vec<u8>> {
        if let Some(key) = &self.session_key {
            return Ok(key.expose_secret().as_bytes().to_vec());
        }
        use base64::Engine as _;
        use std::os::unix::fs::OpenOptionsExt;
        let engine = base64::engine::general_purpose::STANDARD;
        let path = self.data_dir.join("session.key");
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(key) = engine.decode(text.trim())
            && key.len() >= 64
        {
            return Ok(key);
        }
        std::fs::create_dir_all(&self.data_dir)?;
        let key: [u8; 64] = rand::random();
        let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?;
        std::io::Write::write_all(&mut file, engine.encode(key).as_bytes())?;
        Ok(key.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
    }

    #[test]
    fn defaults_with_nothing_set() {
        let s = Settings::from_lookup(lookup(&[])).unwrap();
        assert_eq!(s.addr, "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./.portal"));
        assert!(s.database_urls.is_none());
        assert_eq!(s.vat_rate, Decimal::from(15));
        assert!(s.public_url.is_none());
        assert_eq!(s.grace_days, 7);
    }

    #[test]
    fn the_grace_period_is_a_number_of_days() {
        assert_eq!(Settings::from_lookup(lookup(&[("PORTAL_GRACE_DAYS", " 14 ")])).unwrap().grace_days, 14);
        assert_eq!(Settings::from_lookup(lookup(&[("PORTAL_GRACE_DAYS", "0")])).unwrap().grace_days, 0);
        for bad in ["seven", "-1", "7.5", "366"] {
            let settings = Settings::from_lookup(|key| (key == "PORTAL_GRACE_DAYS").then(|| bad.to_owned()));
            let err = settings.unwrap_err();
            assert!(matches!(err, ConfigError::GraceDays(_)), "{bad}");
            assert!(err.to_string().contains("PORTAL_GRACE_DAYS must be a whole number"), "{err}");
        }
    }

    #[test]
    fn the_public_url_must_be_a_web_address() {
        let s = Settings::from_lookup(lookup(&[("PORTAL_PUBLIC_URL", "https://portal.example.co.za")])).unwrap();
        assert_eq!(s.public_url.as_deref(), Some("https://portal.example.co.za"));
        for bad in ["portal.example.co.za", "ftp://portal.example.co.za", "https://"] {
            let settings = Settings::from_lookup(|key| (key == "PORTAL_PUBLIC_URL").then(|| bad.to_owned()));
            assert!(matches!(settings, Err(ConfigError::PublicUrl(_))), "{bad}");
        }
    }

    #[test]
    fn partial_urls_are_refused_naming_the_missing_ones() {
        let err = Settings::from_lookup(lookup(&[("DATABASE_URL_MAIN", "postgres://x/main")])).unwrap_err();
        assert!(err.to_string().contains("DATABASE_URL_AAS, DATABASE_URL_ENETWORKS"), "{err}");
    }

    #[test]
    fn short_session_key_and_bad_vat_are_refused() {
        assert!(matches!(
            Settings::from_lookup(lookup(&[("PORTAL_SESSION_KEY", "short")])),
            Err(ConfigError::ShortSessionKey(5))
        ));
        assert!(matches!(
            Settings::from_lookup(lookup(&[("PORTAL_VAT_RATE", "fifteen")])),
            Err(ConfigError::VatRate(_))
        ));
    }
}
