//! Security: TLS to a throwaway server started with certificates this file generates
//! (a CA, a server certificate for `localhost`, a client certificate, and a CA that signed
//! none of them), passwords from the environment and from files that never reach the
//! terminal or the log, and table, column and database names full of backticks, quotes,
//! semicolons, spaces and non-ASCII characters.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ferry::throwaway::ThrowawayServer;
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, Value};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::support::{dump, ferry, ferry_env, Dbs, Run};

// ---------------------------------------------------------------------------------------
// TLS

/// A server with TLS on, and the files a client needs.
struct TlsServer {
    server: ThrowawayServer,
    /// The CA that signed the server's and the client's certificates.
    ca: PathBuf,
    /// A CA that signed nothing here.
    wrong_ca: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    _dir: tempfile::TempDir,
}

fn new_ca(name: &str) -> (rcgen::Certificate, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert, Issuer::new(params, key))
}

fn new_leaf(
    issuer: &Issuer<'static, KeyPair>,
    names: &[&str],
    common_name: &str,
    usage: ExtendedKeyUsagePurpose,
) -> (rcgen::Certificate, KeyPair) {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.use_authority_key_identifier_extension = true;
    params.key_usages.push(KeyUsagePurpose::DigitalSignature);
    params.extended_key_usages.push(usage);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert, key)
}

fn tls_server() -> &'static TlsServer {
    static SERVER: OnceLock<TlsServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: String| -> PathBuf {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let (ca, issuer) = new_ca("ferry test CA");
        let (wrong_ca, _) = new_ca("ferry test CA that signed nothing");
        // The server's certificate names `localhost` only, not 127.0.0.1.
        let (server_cert, server_key) = new_leaf(
            &issuer,
            &["localhost"],
            "localhost",
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_cert, client_key) = new_leaf(
            &issuer,
            &[],
            "ferry test client",
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let ca = write("ca.pem", ca.pem());
        let wrong_ca = write("wrong-ca.pem", wrong_ca.pem());
        let server_cert = write("server-cert.pem", server_cert.pem());
        let server_key = write("server-key.pem", server_key.serialize_pem());
        let client_cert = write("client-cert.pem", client_cert.pem());
        let client_key = write("client-key.pem", client_key.serialize_pem());
        let args = [
            format!("--ssl-ca={}", ca.display()),
            format!("--ssl-cert={}", server_cert.display()),
            format!("--ssl-key={}", server_key.display()),
        ];
        let args: Vec<&str> = args.iter().map(|a| a.as_str()).collect();
        let server = ThrowawayServer::start_with("test-tls", &args)
            .unwrap_or_else(|e| panic!("starting the TLS server: {e:#}"));
        TlsServer {
            server,
            ca,
            wrong_ca,
            client_cert,
            client_key,
            _dir: dir,
        }
    })
}

/// A fresh database on the TLS server with a small table, dropped at the end.
struct TlsDb {
    name: String,
    admin: Conn,
}

impl TlsDb {
    fn new(test: &str) -> TlsDb {
        let tls = tls_server();
        let name = format!("tls_{test}_{}", std::process::id());
        let mut admin = Conn::new(Opts::from_url(&tls.server.url("mysql")).unwrap()).unwrap();
        for sql in [
            format!("DROP DATABASE IF EXISTS `{name}`"),
            format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
            format!(
                "CREATE TABLE `{name}`.items (id INT PRIMARY KEY, label VARCHAR(40)) \
                 CHARACTER SET utf8mb4"
            ),
            format!("INSERT INTO `{name}`.items VALUES (1, 'один'), (2, '二 🚀'), (3, NULL)"),
        ] {
            admin.query_drop(&sql).unwrap();
        }
        TlsDb { name, admin }
    }

    /// `mysql://root@HOST:PORT/DB?QUERY`
    fn url(&self, host: &str, query: &str) -> String {
        let port = tls_server().server.port();
        let mut url = format!("mysql://root@{host}:{port}/{}", self.name);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }
}

impl Drop for TlsDb {
    fn drop(&mut self) {
        let _ = self
            .admin
            .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name));
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// A job that copies `items` and records the source session's TLS cipher and version
/// as the server sees them.
const CIPHER_JOB: &str = r#"
local function status(name)
  local r = source():query("SHOW SESSION STATUS LIKE '" .. name .. "'")
  return r[1].Value
end
local cipher, version = status("Ssl_cipher"), status("Ssl_version")
if not planning then log.info("source cipher=[%s] version=[%s]", cipher, version) end
copy "items"
"#;

fn cipher_in_log(log: &str) -> String {
    let line = log
        .lines()
        .find(|l| l.contains("source cipher=["))
        .unwrap_or_else(|| panic!("no cipher line in the log:\n{log}"));
    let start = line.find("cipher=[").unwrap() + "cipher=[".len();
    let end = start + line[start..].find(']').unwrap();
    line[start..end].to_string()
}

fn items_dst(dbs: &mut Dbs) {
    dbs.dst("CREATE TABLE items (id INT PRIMARY KEY, label VARCHAR(40)) CHARACTER SET utf8mb4");
}

fn run_with_source(dbs: &Dbs, job: &Path, source: &str) -> Run {
    ferry(
        &[
            "run",
            &path(job),
            "--source",
            source,
            "--target",
            &dbs.dst_url,
            "--log",
            &path(&dbs.log_path()),
        ],
        dbs.dir.path(),
    )
}

#[test]
fn tls_verify_ca_copies_over_an_encrypted_session() {
    let tls = tls_server();
    let src = TlsDb::new("verify_ca");
    let mut dbs = Dbs::new("tls_verify_ca");
    items_dst(&mut dbs);
    let job = dbs.job("tls.lua", CIPHER_JOB);
    // By IP: verify-ca checks the chain, not the name (the certificate names only
    // localhost).
    let url = src.url(
        "127.0.0.1",
        &format!("ssl-mode=verify-ca&ssl-ca={}", path(&tls.ca)),
    );
    run_with_source(&dbs, &job, &url).ok();
    let log = dbs.log();
    let cipher = cipher_in_log(&log);
    assert!(!cipher.is_empty(), "the session is not encrypted:\n{log}");
    assert!(log.contains("version=[TLSv1."), "{log}");
    assert!(
        log.contains(&format!("source connected: {url} (TLS, {cipher})")),
        "{log}"
    );
    // The data arrived exactly.
    let mut admin = Conn::new(Opts::from_url(&tls.server.url(&src.name)).unwrap()).unwrap();
    assert_eq!(dump(&mut admin, "items", "id"), dbs.dump_dst("items", "id"));
    assert_eq!(dbs.count_dst("items"), 3);
}

#[test]
fn tls_verify_ca_with_the_wrong_ca_fails() {
    let tls = tls_server();
    let src = TlsDb::new("wrong_ca");
    let mut dbs = Dbs::new("tls_wrong_ca");
    items_dst(&mut dbs);
    let job = dbs.job("tls.lua", CIPHER_JOB);
    let url = src.url(
        "127.0.0.1",
        &format!("ssl-mode=verify-ca&ssl-ca={}", path(&tls.wrong_ca)),
    );
    run_with_source(&dbs, &job, &url)
        .status(1)
        .says(&format!("cannot connect to {url}"))
        .says(&format!(
            "the server's certificate is not signed by the CA in ssl-ca {}",
            path(&tls.wrong_ca)
        ));
    assert_eq!(dbs.count_dst("items"), 0);
}

#[test]
fn tls_verify_identity_checks_the_host_name() {
    let tls = tls_server();
    let src = TlsDb::new("identity");
    let dbs = Dbs::new("tls_identity");
    let query = format!("ssl-mode=verify-identity&ssl-ca={}", path(&tls.ca));
    // `localhost` is in the certificate.
    ferry(&["tables", &src.url("localhost", &query)], dbs.dir.path())
        .ok()
        .says("items");
    // 127.0.0.1 is not.
    let url = src.url("127.0.0.1", &query);
    ferry(&["tables", &url], dbs.dir.path())
        .status(1)
        .says(&format!("cannot connect to {url}"))
        .says("the server's certificate does not name the host `127.0.0.1`")
        .never_says("items");
}

#[test]
fn tls_required_against_a_server_without_tls_fails() {
    let tls = tls_server();
    let mut dbs = Dbs::new("tls_required_plain");
    dbs.src("CREATE TABLE items (id INT PRIMARY KEY, label VARCHAR(40))");
    items_dst(&mut dbs);
    let job = dbs.job("plain.lua", "copy \"items\"\n");
    for query in [
        "ssl-mode=required".to_string(),
        format!("ssl-mode=verify-ca&ssl-ca={}", path(&tls.ca)),
        format!("ssl-mode=verify-identity&ssl-ca={}", path(&tls.ca)),
    ] {
        let url = format!("{}?{query}", dbs.src_url);
        let mode = query.split('&').next().unwrap();
        run_with_source(&dbs, &job, &url)
            .status(1)
            .says(&format!("cannot connect to {url}"))
            .says(&format!(
                "{mode} asks for TLS, but the server does not offer it"
            ));
    }
    // The same server with the default (preferred) and with disabled: plain, fine.
    run_with_source(&dbs, &job, &dbs.src_url).ok();
    run_with_source(&dbs, &job, &format!("{}?ssl-mode=disabled", dbs.src_url)).ok();
}

#[test]
fn tls_preferred_encrypts_when_the_server_can_and_disabled_does_not() {
    let src = TlsDb::new("preferred");
    let mut dbs = Dbs::new("tls_preferred");
    items_dst(&mut dbs);
    let job = dbs.job("tls.lua", CIPHER_JOB);
    // No ssl-mode: preferred, certificate not checked, encrypted all the same.
    run_with_source(&dbs, &job, &src.url("127.0.0.1", "")).ok();
    assert!(!cipher_in_log(&dbs.log()).is_empty(), "{}", dbs.log());
    std::fs::remove_file(dbs.log_path()).unwrap();
    // required: the certificate is not checked either (no ssl-ca needed).
    run_with_source(&dbs, &job, &src.url("127.0.0.1", "ssl-mode=required")).ok();
    assert!(!cipher_in_log(&dbs.log()).is_empty(), "{}", dbs.log());
    std::fs::remove_file(dbs.log_path()).unwrap();
    run_with_source(&dbs, &job, &src.url("127.0.0.1", "ssl-mode=disabled")).ok();
    assert_eq!(cipher_in_log(&dbs.log()), "", "{}", dbs.log());
}

#[test]
fn tls_client_certificate_in_the_table_form() {
    let tls = tls_server();
    let src = TlsDb::new("client_cert");
    let mut dbs = Dbs::new("tls_client_cert");
    items_dst(&mut dbs);
    let user = format!("x509_{}", std::process::id());
    let mut admin = Conn::new(Opts::from_url(&tls.server.url("mysql")).unwrap()).unwrap();
    admin
        .query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"))
        .unwrap();
    admin
        .query_drop(format!("CREATE USER '{user}'@'%' REQUIRE X509"))
        .unwrap();
    admin
        .query_drop(format!("GRANT ALL ON `{}`.* TO '{user}'@'%'", src.name))
        .unwrap();
    let table = |extra: &str| {
        format!(
            "source {{ host = \"127.0.0.1\", port = {}, user = \"{user}\", database = \"{}\",\n  \
             ssl_mode = \"verify-ca\", ssl_ca = [[{}]]{extra} }}\n{CIPHER_JOB}",
            tls.server.port(),
            src.name,
            path(&tls.ca)
        )
    };
    let target = ["--target", &dbs.dst_url, "--log", &path(&dbs.log_path())];
    // Without a client certificate the account refuses the login.
    let job = dbs.job("nocert.lua", &table(""));
    let mut args = vec!["run", job.to_str().unwrap()];
    args.extend(target);
    ferry(&args, dbs.dir.path()).status(1).says("Access denied");
    let job = dbs.job(
        "cert.lua",
        &table(&format!(
            ", ssl_cert = [[{}]], ssl_key = [[{}]]",
            path(&tls.client_cert),
            path(&tls.client_key)
        )),
    );
    let mut args = vec!["run", job.to_str().unwrap()];
    args.extend(target);
    ferry(&args, dbs.dir.path()).ok();
    assert!(!cipher_in_log(&dbs.log()).is_empty());
    assert_eq!(dbs.count_dst("items"), 3);
    let _ = admin.query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"));
}

#[test]
fn tls_option_mistakes_are_usage_errors() {
    let dbs = Dbs::new("tls_mistakes");
    let job = dbs.job("plain.lua", "copy \"items\"\n");
    let with_pw = dbs
        .src_url
        .replacen("mysql://root@", "mysql://root:Hunter2-secret@", 1);
    // An unknown mode: exit 2, the URL shown without its password.
    let url = format!("{with_pw}?ssl-mode=verify-full");
    run_with_source(&dbs, &job, &url)
        .status(2)
        .says("unknown ssl-mode `verify-full`")
        .says("known: disabled, preferred, required, verify-ca, verify-identity")
        .says("mysql://root:***@")
        .never_says("Hunter2");
    // An unreadable CA file: exit 2, naming the file and the URL.
    let missing = dbs.dir.path().join("no-such-ca.pem");
    let url = format!(
        "{}?ssl-mode=verify-ca&ssl-ca={}",
        dbs.src_url,
        path(&missing)
    );
    run_with_source(&dbs, &job, &url)
        .status(2)
        .says(&format!("source {url}: ssl-ca file {}", path(&missing)));
    // The same mistake in the script's table form.
    let code = "source { database = \"x\", ssl_mode = \"sometimes\" }\n";
    let job = dbs.job("bad.lua", code);
    ferry(
        &["run", job.to_str().unwrap(), "--target", &dbs.dst_url],
        dbs.dir.path(),
    )
    .status(2)
    .says("bad.lua:1:")
    .says("unknown ssl-mode `sometimes`");
}

// ---------------------------------------------------------------------------------------
// Passwords from the environment and from files

const SECRET: &str = "Pw-7f3a9c;'\"` 密码";

/// An account with a password on the source server, dropped at the end.
struct PasswordUser {
    name: String,
    admin: Conn,
}

impl PasswordUser {
    fn new(dbs: &Dbs, tag: &str) -> PasswordUser {
        PasswordUser::with_password(dbs, tag, SECRET)
    }

    fn with_password(dbs: &Dbs, tag: &str, password: &str) -> PasswordUser {
        let name = format!("pw_{tag}_{}", std::process::id());
        let base = dbs.src_url.rsplit_once('/').unwrap().0;
        let mut admin = Conn::new(Opts::from_url(&format!("{base}/mysql")).unwrap()).unwrap();
        admin
            .query_drop(format!("DROP USER IF EXISTS '{name}'@'%'"))
            .unwrap();
        // CREATE USER cannot be prepared: the password goes in as an escaped literal.
        let literal = password.replace('\\', "\\\\").replace('\'', "''");
        admin
            .query_drop(format!(
                "CREATE USER '{name}'@'%' IDENTIFIED BY '{literal}'"
            ))
            .unwrap();
        admin
            .query_drop(format!("GRANT ALL ON `{}`.* TO '{name}'@'%'", dbs.src_db))
            .unwrap();
        PasswordUser { name, admin }
    }

    /// The source URL for this user, without a password, plus `query`.
    fn url(&self, dbs: &Dbs, query: &str) -> String {
        let url = dbs
            .src_url
            .replacen("mysql://root@", &format!("mysql://{}@", self.name), 1);
        if query.is_empty() {
            url
        } else {
            format!("{url}?{query}")
        }
    }
}

impl Drop for PasswordUser {
    fn drop(&mut self) {
        let _ = self
            .admin
            .query_drop(format!("DROP USER IF EXISTS '{}'@'%'", self.name));
    }
}

fn password_dbs(test: &str) -> Dbs {
    let mut dbs = Dbs::new(test);
    dbs.src("CREATE TABLE items (id INT PRIMARY KEY, label VARCHAR(40)) CHARACTER SET utf8mb4");
    dbs.src("INSERT INTO items VALUES (1, 'a'), (2, 'b')");
    items_dst(&mut dbs);
    dbs
}

fn run_env(dbs: &Dbs, job: &Path, source: &str, env: &[(&str, &str)]) -> Run {
    ferry_env(
        &[
            "run",
            &path(job),
            "--source",
            source,
            "--target",
            &dbs.dst_url,
            "--log",
            &path(&dbs.log_path()),
        ],
        dbs.dir.path(),
        env,
    )
}

/// The secret, or any long piece of it, is nowhere in the output or the log.
fn assert_no_secret(run: &Run, dbs: &Dbs) {
    let log = dbs.log();
    for piece in [SECRET, "Pw-7f3a9c", "密码"] {
        assert!(
            !run.stdout.contains(piece) && !run.stderr.contains(piece),
            "the password shows in the output:\n{}",
            run.describe()
        );
        assert!(
            !log.contains(piece),
            "the password shows in the log:\n{log}"
        );
    }
}

#[test]
fn password_from_an_environment_variable() {
    let mut dbs = password_dbs("pw_env");
    let user = PasswordUser::new(&dbs, "env");
    let job = dbs.job("copy.lua", "copy \"items\"\n");
    let url = user.url(&dbs, "password-env=FERRY_TEST_SRC_PW");
    let run = run_env(&dbs, &job, &url, &[("FERRY_TEST_SRC_PW", SECRET)]).ok();
    assert_no_secret(&run, &dbs);
    assert!(
        dbs.log()
            .contains(&format!("source connected: mysql://{}:***@", user.name)),
        "{}",
        dbs.log()
    );
    assert_eq!(dbs.count_dst("items"), 2);

    // A job that puts the password into failing SQL: the message hides it.
    let leaky = dbs.job(
        "leaky.lua",
        "source():query(\"SELECT * FROM no_such_table -- \" .. env(\"FERRY_TEST_SRC_PW\"))\n",
    );
    let run = run_env(&dbs, &leaky, &url, &[("FERRY_TEST_SRC_PW", SECRET)])
        .status(1)
        .says("running `SELECT * FROM no_such_table -- ***`")
        .says("doesn't exist");
    assert_no_secret(&run, &dbs);

    // A variable that is not set: exit 2, naming it.
    run_env(&dbs, &job, &url, &[])
        .status(2)
        .says("password-env names the environment variable FERRY_TEST_SRC_PW, which is not set");

    // A wrong password: the connection fails (exit 1), and the password does not show.
    let run = run_env(
        &dbs,
        &job,
        &url,
        &[("FERRY_TEST_SRC_PW", "Pw-7f3a9c-wrong")],
    )
    .status(1)
    .says("Access denied")
    .says("password-env=FERRY_TEST_SRC_PW");
    assert_no_secret(&run, &dbs);
}

#[test]
fn password_from_a_file_drops_one_trailing_newline() {
    let mut dbs = password_dbs("pw_file");
    let user = PasswordUser::new(&dbs, "file");
    let file = dbs.dir.path().join("src.pw");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    // The table form in the script, as well as the URL.
    let code = format!(
        "source {{ host = \"127.0.0.1\", port = {}, user = \"{}\", database = \"{}\", \
         password_file = [[{}]] }}\ncopy \"items\"\n",
        dbs.src_url
            .rsplit_once(':')
            .unwrap()
            .1
            .split('/')
            .next()
            .unwrap(),
        user.name,
        dbs.src_db,
        path(&file)
    );
    let job = dbs.job("copy.lua", &code);
    let args = [
        "run",
        job.to_str().unwrap(),
        "--target",
        &dbs.dst_url,
        "--log",
        &path(&dbs.log_path()),
    ];
    let run = ferry(&args, dbs.dir.path()).ok();
    assert_no_secret(&run, &dbs);
    assert_eq!(dbs.count_dst("items"), 2);

    let job = dbs.job("plain.lua", "copy \"items\"\n");
    let url = user.url(&dbs, &format!("password-file={}", path(&file)));
    let run = run_env(&dbs, &job, &url, &[]).ok();
    assert_no_secret(&run, &dbs);

    // An unreadable file: exit 2, naming the file.
    let missing = dbs.dir.path().join("missing.pw");
    let url = user.url(&dbs, &format!("password-file={}", path(&missing)));
    run_env(&dbs, &job, &url, &[])
        .status(2)
        .says(&format!("cannot read the password-file {}", path(&missing)));

    // A file with a wrong password: exit 1, and the content never shows.
    std::fs::write(&file, "Pw-7f3a9c-wrong\n").unwrap();
    let url = user.url(&dbs, &format!("password-file={}", path(&file)));
    let run = run_env(&dbs, &job, &url, &[])
        .status(1)
        .says("Access denied");
    assert_no_secret(&run, &dbs);
}

#[test]
fn password_from_ferry_source_password_when_the_url_has_none() {
    let mut dbs = password_dbs("pw_role");
    let user = PasswordUser::new(&dbs, "role");
    let job = dbs.job("copy.lua", "copy \"items\"\n");
    let url = user.url(&dbs, "");
    let run = run_env(&dbs, &job, &url, &[("FERRY_SOURCE_PASSWORD", SECRET)]).ok();
    assert_no_secret(&run, &dbs);
    assert!(
        dbs.log().contains("?password-env=FERRY_SOURCE_PASSWORD"),
        "{}",
        dbs.log()
    );
    assert_eq!(dbs.count_dst("items"), 2);

    // What the URL names wins over FERRY_SOURCE_PASSWORD.
    let named = user.url(&dbs, "password-env=FERRY_TEST_PW_RIGHT");
    run_env(
        &dbs,
        &job,
        &named,
        &[
            ("FERRY_SOURCE_PASSWORD", "Pw-7f3a9c-wrong"),
            ("FERRY_TEST_PW_RIGHT", SECRET),
        ],
    )
    .ok();
    // The target's variable is not the source's.
    let run = run_env(&dbs, &job, &url, &[("FERRY_TARGET_PASSWORD", SECRET)])
        .status(1)
        .says("Access denied");
    assert_no_secret(&run, &dbs);

    // `ferry tables` connects as a source, so the same variable serves it.
    let run = ferry_env(
        &["tables", &url],
        dbs.dir.path(),
        &[("FERRY_SOURCE_PASSWORD", SECRET)],
    )
    .ok()
    .says("items");
    assert_no_secret(&run, &dbs);
}

// ---------------------------------------------------------------------------------------
// Identifier quoting

/// Backtick-quotes a name for the test's own SQL.
fn q(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Percent-encodes everything but ASCII letters and digits, for a URL's database part.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// Names with a backtick, single and double quotes, a semicolon, spaces, CJK and
// emoji. MariaDB and MySQL allow only Basic Multilingual Plane characters in names, so
// the emoji in names are BMP ones (☃ ⚡ ✅); values hold any emoji.
const SRC_TABLE: &str = "s`rc 'it''s' \"dq\"; 表 ☃";
const DST_TABLE: &str = "d`st 'q' \"dq\"; DROP TABLE x; 表 ⚡";
const ID: &str = "i`d 'k'";
const K2: &str = "k\"2; 键 ✅";
const NAME: &str = "na`me 'x' \"y\"; 名 ☃";
const NOTE: &str = "no;te ⚡`";
const FULL: &str = "fu``ll 'n' \"m\"; 全";
const LOUD: &str = "lo`ud; 大 ✅";
const STATUS: &str = "st'at`us ☃";
const MADE: &str = "ma\"de; 时";
const SPARE: &str = "sp`are 'z'";

/// A database whose own name needs quoting, dropped at the end.
struct WeirdDb {
    name: String,
    url: String,
    conn: Conn,
}

impl WeirdDb {
    fn new(base_url_of: &str, tag: &str) -> WeirdDb {
        let base = base_url_of.rsplit_once('/').unwrap().0;
        let name = format!("f`db '{tag}' \"q\"; 库 {}", std::process::id());
        let mut admin = Conn::new(Opts::from_url(&format!("{base}/mysql")).unwrap()).unwrap();
        admin
            .query_drop(format!("DROP DATABASE IF EXISTS {}", q(&name)))
            .unwrap();
        admin
            .query_drop(format!(
                "CREATE DATABASE {} CHARACTER SET utf8mb4",
                q(&name)
            ))
            .unwrap();
        admin
            .query_drop(format!(
                "USE {}; SET time_zone = '+00:00', NAMES utf8mb4, sql_mode = ''",
                q(&name)
            ))
            .unwrap();
        WeirdDb {
            url: format!("{base}/{}", pct(&name)),
            name,
            conn: admin,
        }
    }

    fn sql(&mut self, sql: &str) {
        self.conn
            .query_drop(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

impl Drop for WeirdDb {
    fn drop(&mut self) {
        let _ = self
            .conn
            .query_drop(format!("DROP DATABASE IF EXISTS {}", q(&self.name)));
    }
}

/// What the target must hold: computed by the source server from the source table.
fn expected_rows(src: &mut WeirdDb) -> Vec<Vec<Value>> {
    let sql = format!(
        "SELECT {id}, {k2}, {name}, CONCAT({note}, '!'), 'active', 'a;b`c', NULL FROM {t} \
         WHERE {note} IS NOT NULL ORDER BY {id}, {k2}",
        id = q(ID),
        k2 = q(K2),
        name = q(NAME),
        note = q(NOTE),
        t = q(SRC_TABLE)
    );
    let rows: Vec<mysql::Row> = src.conn.exec(sql, ()).unwrap();
    rows.into_iter().map(|r| r.unwrap()).collect()
}

fn target_rows(dst: &mut WeirdDb) -> Vec<Vec<Value>> {
    let sql = format!(
        "SELECT {}, {}, {}, {}, {}, {}, {} FROM {} ORDER BY 1, 2",
        q(ID),
        q(K2),
        q(FULL),
        q(LOUD),
        q(STATUS),
        q(MADE),
        q(SPARE),
        q(DST_TABLE)
    );
    let rows: Vec<mysql::Row> = dst.conn.exec(sql, ()).unwrap();
    rows.into_iter().map(|r| r.unwrap()).collect()
}

#[test]
fn identifiers_with_quotes_semicolons_and_unicode_are_quoted_everywhere() {
    let dbs = Dbs::new("quoting");
    let mut src = WeirdDb::new(&dbs.src_url, "src");
    let mut dst = WeirdDb::new(&dbs.dst_url, "dst");
    src.sql(&format!(
        "CREATE TABLE {t} ({id} INT NOT NULL, {k2} VARCHAR(20) NOT NULL, {name} VARCHAR(40), \
         {note} VARCHAR(40), PRIMARY KEY ({id}, {k2})) CHARACTER SET utf8mb4",
        t = q(SRC_TABLE),
        id = q(ID),
        k2 = q(K2),
        name = q(NAME),
        note = q(NOTE)
    ));
    src.sql(&format!(
        "INSERT INTO {} VALUES (1, 'a', 'Ann 🚀', 'n1'), (1, 'b`', 'Bob \"q\"', 'n2'), \
         (2, 'a', 'Ch''oe; DROP', 'n3'), (3, '表', '李雷', 'n4'), (3, 'z', NULL, NULL), \
         (4, 'a', 'Dee', 'n6'), (5, 'a', 'Eve ☃', 'n7')",
        q(SRC_TABLE)
    ));
    dst.sql(&format!(
        "CREATE TABLE {t} ({id} INT NOT NULL, {k2} VARCHAR(20) NOT NULL, {full} VARCHAR(40), \
         {loud} VARCHAR(41), {status} VARCHAR(10) NOT NULL, {made} VARCHAR(10) NOT NULL, \
         {spare} INT NULL, PRIMARY KEY ({id}, {k2})) CHARACTER SET utf8mb4",
        t = q(DST_TABLE),
        id = q(ID),
        k2 = q(K2),
        full = q(FULL),
        loud = q(LOUD),
        status = q(STATUS),
        made = q(MADE),
        spare = q(SPARE)
    ));

    // Names travel into Lua as long strings, byte for byte.
    let filter = format!("{} IS NOT NULL", q(NOTE));
    let job = |mode: &str| {
        format!(
            r#"
local S, D = [==[{src}]==], [==[{dst}]==]
local NAME, NOTE, FULL, LOUD = [==[{name}]==], [==[{note}]==], [==[{full}]==], [==[{loud}]==]
local STATUS, MADE = [==[{status}]==], [==[{made}]==]
local src, dst = source(), target()
assert(src:count(S) == 7, "count")
assert(#src:peek(S, 2) == 2, "peek")
local names = {{}}
for _, c in ipairs(dst:columns(D)) do names[#names + 1] = c.name end
assert(names[3] == FULL and names[5] == STATUS, "columns: " .. table.concat(names, "|"))
local found = false
for _, t in ipairs(src:tables()) do found = found or t == S end
assert(found, "tables")
local stats = copy {{
  from = S, to = D, mode = "{mode}", page = 2,
  where = [==[{where}]==],
  map = map {{ [FULL] = NAME, [LOUD] = function(r) return r[NOTE] .. "!" end }},
  default = default {{ [STATUS] = "active", [MADE] = sql [==[CONCAT('a;b', '`c')]==] }},
}}
if not planning then log.info("copied %d", stats.written) end
"#,
            src = SRC_TABLE,
            dst = DST_TABLE,
            name = NAME,
            note = NOTE,
            full = FULL,
            loud = LOUD,
            status = STATUS,
            made = MADE,
            mode = mode,
            where = filter,
        )
    };
    let (src_url, dst_url) = (src.url.clone(), dst.url.clone());
    let run = |code: &str, extra: &[&str]| {
        let job = dbs.job("weird.lua", code);
        let mut args = vec![
            "run".to_string(),
            path(&job),
            "--source".into(),
            src_url.clone(),
            "--target".into(),
            dst_url.clone(),
            "--log".into(),
            path(&dbs.log_path()),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        ferry(&args, dbs.dir.path())
    };

    // The plan names every column as it is.
    let plan = run(&job("insert"), &["--dry-run"]).ok();
    for text in [
        format!("copy {SRC_TABLE} -> {DST_TABLE}"),
        format!(".{SRC_TABLE} -> "),
        format!("keyset on ({ID}, {K2})"),
        "plan OK: 1 copy".to_string(),
    ] {
        assert!(plan.stdout.contains(&text), "{text}\n{}", plan.describe());
    }
    for (column, origin) in [
        (ID, "<- same name".to_string()),
        (FULL, format!("<- {NAME}")),
        (LOUD, "<- function at ".to_string()),
        (STATUS, "<- default 'active'".to_string()),
        (MADE, "<- default sql CONCAT('a;b', '`c')".to_string()),
        (SPARE, "(left to the server".to_string()),
    ] {
        assert!(
            plan.stdout.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with(column) && l[column.len()..].trim_start().starts_with(&origin)
            }),
            "{column} {origin}\n{}",
            plan.describe()
        );
    }
    assert_eq!(target_rows(&mut dst), Vec::<Vec<Value>>::new());

    // insert, over several keyset pages of a two-column key.
    run(&job("insert"), &[]).ok();
    let expected = expected_rows(&mut src);
    assert_eq!(expected.len(), 6);
    assert_eq!(target_rows(&mut dst), expected);

    // overwrite and upsert carry source changes over.
    src.sql(&format!(
        "UPDATE {} SET {} = 'Ann ✅ 🚀', {} = 'n1''x' WHERE {} = 1 AND {} = 'a'",
        q(SRC_TABLE),
        q(NAME),
        q(NOTE),
        q(ID),
        q(K2)
    ));
    run(&job("overwrite"), &[]).ok();
    assert_eq!(target_rows(&mut dst), expected_rows(&mut src));
    src.sql(&format!(
        "UPDATE {} SET {} = 'Bob \"upserted\"' WHERE {} = 1 AND {} = 'b`'",
        q(SRC_TABLE),
        q(NAME),
        q(ID),
        q(K2)
    ));
    let upsert = run(&job("upsert"), &[]).ok();
    assert_eq!(target_rows(&mut dst), expected_rows(&mut src));
    assert!(upsert.stdout.contains("upsert"), "{}", upsert.describe());
    assert!(
        dbs.log().contains(&format!("{SRC_TABLE} -> {DST_TABLE}")),
        "{}",
        dbs.log()
    );

    // ferry tables and ferry columns.
    ferry(&["tables", &dst_url], dbs.dir.path())
        .ok()
        .says(DST_TABLE)
        // The copied table and the job state the copies checkpointed into.
        .says("_ferry_state")
        .says("2 tables in mysql://root@");
    let cols = ferry(&["columns", &dst_url, DST_TABLE], dbs.dir.path()).ok();
    for c in [ID, K2, FULL, LOUD, STATUS, MADE, SPARE] {
        assert!(cols.stdout.contains(c), "{c}\n{}", cols.describe());
    }
    // A name that is not there is still reported, not run as SQL.
    ferry(
        &["columns", &dst_url, "x`; DROP TABLE y; --"],
        dbs.dir.path(),
    )
    .status(2)
    .says("no table `x`; DROP TABLE y; --`");
    // Names past the Basic Multilingual Plane cannot exist; ferry says so.
    ferry(&["columns", &dst_url, "t 🚀"], dbs.dir.path())
        .status(2)
        .says("no table `t 🚀`")
        .says("cannot hold characters outside Unicode's Basic Multilingual Plane");
    let emoji = dbs.job("emoji.lua", "copy { from = \"🚀\", to = \"t\" }\n");
    ferry(
        &[
            "run",
            &path(&emoji),
            "--source",
            &src_url,
            "--target",
            &dst_url,
        ],
        dbs.dir.path(),
    )
    .status(2)
    .says("unknown source table `🚀`")
    .says("Basic Multilingual Plane");
}

// ---------------------------------------------------------------------------------------
// The source is read-only unless the job opts in

#[test]
fn the_source_is_read_only_unless_writable() {
    let mut dbs = password_dbs("src_ro");
    let before = dbs.dump_src("items", "id");
    for stmt in [
        "INSERT INTO items VALUES (3, 'c')",
        "UPDATE items SET label = 'z'",
        "DELETE FROM items",
        "REPLACE INTO items VALUES (1, 'r')",
        "TRUNCATE items",
        "DROP TABLE items",
        "CREATE TABLE evil (x INT)",
    ] {
        let job = dbs.job(
            "write.lua",
            &format!("source():exec(\"{stmt}\")\ncopy \"items\"\n"),
        );
        dbs.run(&job, &[])
            .status(1)
            .says("write.lua:1:")
            .says("READ ONLY")
            .says("the source is read-only")
            .says("writable = true")
            .says("?writable=true");
        assert_eq!(dbs.dump_src("items", "id"), before, "{stmt}");
        let evil: Option<String> = dbs.src.query_first("SHOW TABLES LIKE 'evil'").unwrap();
        assert_eq!(evil, None);
    }

    // ?writable=true in the URL opts in.
    let job = dbs.job(
        "write.lua",
        "source():exec(\"INSERT INTO items VALUES (3, 'c')\")\ncopy \"items\"\n",
    );
    let url = format!("{}?writable=true", dbs.src_url);
    run_with_source(&dbs, &job, &url).ok();
    assert_eq!(dbs.dump_src("items", "id").len(), 3);

    // So does `writable = true` in the table form.
    let port = dbs
        .src_url
        .rsplit_once(':')
        .unwrap()
        .1
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let src_db = dbs.src_db.clone();
    let table = |writable: &str| {
        format!(
            "source {{ host = \"127.0.0.1\", port = {port}, user = \"root\", database = \"{}\"{writable} }}\n\
             source():exec(\"INSERT INTO items VALUES (4, 'd')\")\ncopy \"items\"\n",
            src_db
        )
    };
    let job = dbs.job("table.lua", &table(""));
    let args = [
        "run".to_string(),
        path(&job),
        "--target".into(),
        dbs.dst_url.clone(),
    ];
    ferry(&args, dbs.dir.path())
        .status(1)
        .says("the source is read-only");
    assert_eq!(dbs.dump_src("items", "id").len(), 3);
    dbs.job("table.lua", &table(", writable = true"));
    ferry(&args, dbs.dir.path()).ok();
    assert_eq!(dbs.dump_src("items", "id").len(), 4);
}

// ---------------------------------------------------------------------------------------
// Secrets on the command line, in the REPL's history, in URLs that do not parse

/// A process's command line as every user of the machine can read it.
fn cmdline(pid: u32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

/// `ferry ARGS` started with piped stdio and a clean ferry environment plus `env`.
fn spawn_piped(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(args)
        .current_dir(dir)
        .env_remove("FERRY_SOURCE")
        .env_remove("FERRY_TARGET")
        .env_remove("FERRY_SOURCE_PASSWORD")
        .env_remove("FERRY_TARGET_PASSWORD")
        .env_remove("XDG_DATA_HOME")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting ferry")
}

fn finish(child: std::process::Child, args: &[&str]) -> Run {
    let out = child.wait_with_output().expect("waiting for ferry");
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn a_password_on_the_command_line_is_hidden_from_the_process_list() {
    let mut dbs = password_dbs("pw_argv");
    // Unescaped `/` and `@`: read whole (the user part ends at the last `@`).
    const PW: &str = "Argv/pw-5d1e@x";
    let user = PasswordUser::with_password(&dbs, "argv", PW);
    let url = user.url(&dbs, "").replacen(
        &format!("//{}@", user.name),
        &format!("//{}:{PW}@", user.name),
        1,
    );
    assert!(url.contains(PW));
    // A job that stays running for a while (SLEEP in the plan and in the real pass).
    let job = dbs.job(
        "slow.lua",
        "source():query(\"SELECT SLEEP(1)\")\ncopy \"items\"\n",
    );
    let (job_s, log_s) = (path(&job), path(&dbs.log_path()));
    let args = [
        "run",
        &job_s,
        "--source",
        &url,
        "--target",
        &dbs.dst_url,
        "--log",
        &log_s,
    ];
    let child = spawn_piped(&args, dbs.dir.path(), &[]);
    // Once the log shows the plan pass, the arguments have been read.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !dbs.log().contains("plan pass") {
        assert!(std::time::Instant::now() < deadline, "no plan pass logged");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let seen = cmdline(child.id());
    let run = finish(child, &args).ok();
    assert!(seen.contains("--source mysql://"), "{seen}");
    assert!(seen.contains(&dbs.dst_url), "{seen}");
    for piece in [PW, "Argv/pw", "pw-5d1e"] {
        assert!(
            !seen.contains(piece),
            "the password is in the process list: {seen}"
        );
        assert!(
            !run.stdout.contains(piece) && !run.stderr.contains(piece),
            "{}",
            run.describe()
        );
        assert!(!dbs.log().contains(piece), "{}", dbs.log());
    }
    assert_eq!(dbs.count_dst("items"), 2);
}

#[test]
fn repl_history_and_process_list_never_hold_a_password() {
    let dbs = Dbs::new("repl_hist");
    let home = tempfile::tempdir().unwrap();
    let history = home.path().join(".local/share/ferry/history");
    std::fs::create_dir_all(history.parent().unwrap()).unwrap();
    // An entry an older ferry stored with its password.
    std::fs::write(
        &history,
        "#V2\nsource \"mysql://old:Old-hist-pw@h/d\"\nprint(\"old kept\")\n",
    )
    .unwrap();
    // A password on the command line (the server refuses it: the REPL starts anyway).
    let src = dbs
        .src_url
        .replacen("mysql://root@", "mysql://root:Repl-argv-pw@", 1);
    let args = ["repl", "--source", &src, "--target", &dbs.dst_url];
    let home_s = path(home.path());
    // Typed at a terminal (piped input is a script, kept in no history).
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.args(args)
        .current_dir(dbs.dir.path())
        .env("HOME", &home_s)
        .env_remove("XDG_DATA_HOME")
        .env("TERM", "xterm")
        .env_remove("FERRY_SOURCE")
        .env_remove("FERRY_TARGET")
        .env_remove("FERRY_SOURCE_PASSWORD")
        .env_remove("FERRY_TARGET_PASSWORD");
    let mut p = expectrl::Session::spawn(cmd).unwrap();
    p.set_expect_timeout(Some(std::time::Duration::from_secs(30)));
    use expectrl::Expect;
    // The banner comes once the arguments are read and the sessions tried.
    let mut transcript = String::new();
    let mut upto = |p: &mut expectrl::session::OsSession, text: &str| {
        let found = p
            .expect(text)
            .unwrap_or_else(|e| panic!("{text}: {e}\n{transcript}"));
        transcript.push_str(&String::from_utf8_lossy(found.before()));
        transcript.push_str(text);
    };
    upto(&mut p, "ferry repl");
    upto(&mut p, "]> ");
    let seen = cmdline(p.get_process().pid().as_raw() as u32);
    for line in [
        "source \"mysql://u:Hist/pw-1@127.0.0.1:1/x\"",
        "t = { password = \"Hist-pw-2\", database = \"d\" }",
        "x = \"Repl-argv-pw\"",
        "print(\"new kept\")",
    ] {
        p.send_line(line).unwrap();
        upto(&mut p, "]> ");
    }
    // Ctrl-D now that the last line has answered and the prompt is back.
    p.send(expectrl::ControlCode::EndOfTransmission).unwrap();
    p.expect(expectrl::Eof).unwrap();
    let status = p.get_process_mut().wait().unwrap();
    assert!(
        matches!(status, expectrl::process::unix::WaitStatus::Exited(_, 0)),
        "{status:?}\n{transcript}"
    );
    let kept = std::fs::read_to_string(&history).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&history).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    assert!(kept.contains("print(\"new kept\")"), "{kept}");
    assert!(kept.contains("print(\"old kept\")"), "{kept}");
    assert!(
        kept.contains("source \"mysql://u:***@127.0.0.1:1/x\""),
        "{kept}"
    );
    assert!(kept.contains("password = \"***\""), "{kept}");
    for piece in ["Old-hist-pw", "Hist/pw-1", "Hist-pw-2", "Repl-argv-pw"] {
        assert!(
            !kept.contains(piece),
            "the password is in the history:\n{kept}"
        );
        assert!(
            !seen.contains(piece),
            "the password is in the process list: {seen}"
        );
        // What ferry printed (the terminal echoes what was typed: that is the
        // user's own text).
        let printed: String = transcript.lines().filter(|l| !l.contains("]> ")).collect();
        assert!(!printed.contains(piece), "{transcript}");
    }
}

#[test]
fn a_url_that_does_not_parse_never_shows_its_password() {
    let mut dbs = Dbs::new("pw_parse");
    items_dst(&mut dbs);
    let job = dbs.job("copy.lua", "copy \"items\"\n");
    let pieces = ["Sl/ash-pw", "Sl/ash", "ash-pw", "Qu?est", "est-pw"];
    let check = |run: Run| {
        let run = run.status(2).says("***");
        for piece in pieces {
            let run = &run;
            assert!(
                !run.stdout.contains(piece) && !run.stderr.contains(piece),
                "{}",
                run.describe()
            );
        }
        let log = dbs.log();
        for piece in pieces {
            assert!(!log.contains(piece), "{log}");
        }
    };
    for url in [
        "mysql://app:Sl/ash-pw@127.0.0.1:x/db",
        "mysql://app:Qu?est-pw@127.0.0.1/db",
        "mysql://app:Sl/ash-pw@127.0.0.1/db?ssl-mode=nope",
        "mysql://app:Sl/ash-pw@127.0.0.1/db?what=ever",
        "mysql://app:Sl/ash-pw/127.0.0.1/db",
    ] {
        check(run_with_source(&dbs, &job, url));
    }
    // In the script, where the log sees it too; and in a script that does not even
    // compile (the Lua error quotes the line).
    for code in [
        "source \"mysql://app:Sl/ash-pw@127.0.0.1:x/db\"\ncopy \"items\"\n",
        "source \"mysql://app:Sl/ash-pw@127.0.0.1:3306/db\ncopy \"items\"\n",
        "source \"mysql://app:Qu?est-pw@127.0.0.1/db\"\ncopy \"items\"\n",
    ] {
        let job = dbs.job("in_script.lua", code);
        let log_s = path(&dbs.log_path());
        check(ferry(
            &[
                "run",
                &path(&job),
                "--target",
                &dbs.dst_url,
                "--log",
                &log_s,
            ],
            dbs.dir.path(),
        ));
    }
}

#[test]
fn a_short_password_is_not_masked_inside_words() {
    let dbs = Dbs::new("pw_short");
    // Refused: the hint says "running and listening".
    let refused = "mysql://root:in@127.0.0.1:1/x";
    ferry(&["tables", refused], dbs.dir.path())
        .status(1)
        .says("mysql://root:***@127.0.0.1:1/x")
        .says("is the server running and listening on that host and port?")
        .never_says("***g")
        .never_says("root:in@");
    // Denied by a real server: "(using password: YES)".
    let denied = dbs.src_url.replacen("mysql://root@", "mysql://root:in@", 1);
    ferry(&["tables", &denied], dbs.dir.path())
        .status(1)
        .says("Access denied for user 'root'")
        .says("(using password: YES)")
        .says("mysql://root:***@")
        .never_says("***g")
        .never_says("root:in@");
}

// ---------------------------------------------------------------------------------------
// Connections end with COM_QUIT

/// The "Aborted connection" lines of a server's error log (a client that left without
/// COM_QUIT, or a connection that never logged in).
fn aborted(server: &ThrowawayServer) -> Vec<String> {
    std::fs::read_to_string(server.error_log())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("Aborted connection") || l.contains("without authentication"))
        .map(str::to_string)
        .collect()
}

#[test]
fn runs_leave_no_aborted_connections_in_the_server_logs() {
    // A private pair: other tests kill runs on purpose on the shared servers.
    let t = std::thread::spawn(|| ThrowawayServer::start("quit-target"));
    let source = ThrowawayServer::start("quit-source")
        .unwrap_or_else(|e| panic!("starting the source server: {e:#}"));
    let target = t
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("starting the target server: {e:#}"));
    let base = |s: &ThrowawayServer| s.url("").trim_end_matches('/').to_string();
    let mut dbs = Dbs::on("quit", &base(&source), &base(&target));
    // The servers log every aborted connection, unauthenticated ones included (from
    // log_warnings = 2, the default; the throwaway servers run at 3).
    for conn in [&mut dbs.src, &mut dbs.dst] {
        let level: Option<u64> = conn.query_first("SELECT @@log_warnings").unwrap();
        assert!(level >= Some(2), "log_warnings = {level:?}");
    }

    let rows = 30_000;
    dbs.src("CREATE TABLE k (id INT PRIMARY KEY, v INT, s VARCHAR(40))");
    dbs.src(&format!(
        "INSERT INTO k SELECT seq, seq * 7, CONCAT('row ', seq) FROM seq_1_to_{rows}"
    ));
    // No key: read in one streamed pass.
    dbs.src("CREATE TABLE nk (id INT, v INT, s VARCHAR(40))");
    dbs.src(&format!(
        "INSERT INTO nk SELECT seq, seq * 7, CONCAT('row ', seq) FROM seq_1_to_{rows}"
    ));
    // Larger than the socket buffers: stopped part-way, the server is still sending it.
    dbs.src("CREATE TABLE wide (id INT, s VARCHAR(200))");
    dbs.src("INSERT INTO wide SELECT seq, REPEAT(CONCAT('w', seq), 20) FROM seq_1_to_200000");
    dbs.src("CREATE TABLE big (id INT, v INT)");
    dbs.src("INSERT INTO big SELECT seq, 1000 FROM seq_1_to_1000");
    dbs.dst("CREATE TABLE k (id INT PRIMARY KEY, v INT, s VARCHAR(40))");
    dbs.dst("CREATE TABLE nk (id INT, v INT, s VARCHAR(40))");
    // Values that do not fit: the copy fails.
    dbs.dst("CREATE TABLE big (id INT, v TINYINT)");

    let job = dbs.job(
        "copy.lua",
        "copy { from = 'k', page = 1000, workers = 2 }\ncopy { from = 'nk', page = 1000 }\n",
    );
    dbs.run(&job, &["--no-check"]).ok();
    assert_eq!(dbs.count_dst("k"), rows);
    assert_eq!(dbs.count_dst("nk"), rows);
    dbs.verify(&job, &[]).ok();
    dbs.state(&job, &[]).ok();
    ferry(&["tables", &dbs.src_url], dbs.dir.path()).ok();

    // A failed copy, with and without a transform; a plan error.
    let failing = dbs.job("failing.lua", "copy { from = 'big', page = 100 }\n");
    dbs.run(&failing, &["--no-check"]).status(1);
    let failing = dbs.job(
        "failing_t.lua",
        "copy { from = 'big', page = 100, transform = function(r) return r end }\n",
    );
    dbs.run(&failing, &["--no-check"]).status(1);
    let wrong = dbs.job(
        "wrong.lua",
        "copy { from = 'k', to = 'nosuch', transform = function(r) return r end }\n",
    );
    dbs.run(&wrong, &["--no-check"]).status(2);

    // A streamed (keyless) copy stopped by SIGTERM part-way, with and without a
    // transform (whose pages pass through the job's thread).
    for (table, transform) in [
        ("wide", ""),
        ("wide_t", ", transform = function(r) return r end"),
    ] {
        dbs.dst(&format!("CREATE TABLE {table} (id INT, s VARCHAR(200))"));
        let slow = dbs.job(
            "slow.lua",
            &format!(
                "copy {{ from = 'wide', to = '{table}', page = 500, \
                   max_rows_per_second = 5000{transform} }}\n"
            ),
        );
        let mut run = dbs.spawn(&slow, &["--no-check"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while dbs.count_dst(table) < 2000 {
            assert!(
                std::time::Instant::now() < deadline && !run.ended(),
                "{}",
                run.describe()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        run.signal(libc::SIGTERM);
        run.wait_within(std::time::Duration::from_secs(60))
            .status(143);
        assert!(dbs.count_dst(table) < 200_000);
    }

    // The server notes an aborted connection when it sees the socket close.
    std::thread::sleep(std::time::Duration::from_millis(500));
    drop(dbs);
    let (a, b) = (aborted(&source), aborted(&target));
    assert!(
        a.is_empty() && b.is_empty(),
        "source:\n{}\ntarget:\n{}",
        a.join("\n"),
        b.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// A missing job file, a job with no copy

#[test]
fn a_missing_job_file_exits_2_and_a_job_without_copy_says_so() {
    let mut dbs = Dbs::new("nojob");
    let dir = dbs.dir.path().to_path_buf();
    let args = |cmd: &str| -> Vec<String> {
        let mut a = vec![cmd.to_string(), "nosuch.lua".into()];
        if cmd != "repl" {
            a.extend([
                "--source".into(),
                dbs.src_url.clone(),
                "--target".into(),
                dbs.dst_url.clone(),
            ]);
        }
        a
    };
    for cmd in ["run", "verify", "state", "repl"] {
        ferry(&args(cmd), &dir)
            .status(2)
            .says("no job file nosuch.lua")
            .says(&dir.display().to_string());
    }
    assert!(
        !dbs.log_path().exists(),
        "a missing job file is said before the log opens"
    );
    ferry(&["run", &path(&dir)], &dir)
        .status(2)
        .says("is a directory");

    // A job whose copies all sit behind a false condition.
    items_dst(&mut dbs);
    let job = dbs.job("nocopy.lua", "if vars.go then copy \"items\" end\n");
    let warning = "the job ran no copy: ";
    let run = dbs.run(&job, &[]).ok().says(warning).says("nocopy.lua");
    assert!(run.stderr.contains(warning), "{}", run.describe());
    assert!(dbs.log().contains(warning), "{}", dbs.log());
    dbs.run(&job, &["--dry-run"]).ok().says(warning);
    dbs.run(&job, &["--quiet"]).ok().says(warning);
    dbs.verify(&job, &[])
        .ok()
        .says(warning)
        .says("nothing was verified");
    // With a copy, no such warning.
    dbs.src("CREATE TABLE items (id INT PRIMARY KEY, label VARCHAR(40))");
    dbs.run(&job, &["--var", "go=1"]).ok().never_says(warning);
}
