//! A corpus of hostile and broken manifests, each applied with the real
//! `ferry` against the local AWS: every one fails with its first error at
//! the line and column the case names, quickly, without a panic, without
//! printing files outside the manifests or the environment, and without
//! writing anything. The corpus has exactly as many cases as the top-level
//! README says.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::LocalAws;

/// Set in every `ferry` run; it must never appear in what ferry prints.
const CANARY: &str = "canary-7f3a";
/// A plain secret pasted into `secrets`; never echoed.
const PLAIN_SECRET: &str = "correct-horse-battery-staple";

/// The sanity bound of one run: not a benchmark, a hang detector.
const MAX_RUN: Duration = Duration::from_secs(20);

fn manifest(name: &str, spec: &str) -> String {
    format!("apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: {name}\nspec:\n  image: acme/app:1\n{spec}")
}

const WEB: &str = "  processes:\n    web: {port: 8080}\n";

/// One case: a manifest file's bytes, where its error must be, and what to
/// set up next to it.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// The line and column (1-based) of the first error `ferry` prints:
    /// the first line of its stderr must be `<manifest>:LINE:COL: ...`.
    at: (usize, usize),
    setup: Setup,
}

enum Setup {
    None,
    /// A Procfile with these contents next to the manifest.
    Procfile(&'static [u8]),
    /// A `Procfile` symbolic link next to the manifest, pointing here.
    Symlink(&'static str),
    /// A Procfile in a sibling directory, outside what is applied.
    Sibling,
    /// Make the file this large (sparse) instead of writing `bytes`.
    Sparse(u64),
}

fn case(name: &'static str, text: impl Into<Vec<u8>>, at: (usize, usize)) -> Case {
    Case {
        name,
        bytes: text.into(),
        at,
        setup: Setup::None,
    }
}

fn with(mut case: Case, setup: Setup) -> Case {
    case.setup = setup;
    case
}

fn corpus() -> Vec<Case> {
    let valid = manifest("acme", WEB);
    let mut billion = manifest(
        "acme",
        "  env:\n    A0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for i in 1..20 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        billion.push_str(&format!("    A{i}: &a{i} [{refs}]\n"));
    }
    let big_env: String = (0..84)
        .map(|i| format!("    VAR_{i}: {}\n", "v".repeat(1000)))
        .collect();
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend(manifest("Acme", WEB).into_bytes());
    let mut bom_broken = vec![0xef, 0xbb, 0xbf];
    bom_broken.extend(manifest("acme", "  env: [x\n").into_bytes());
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend("a\0p\0i\0".as_bytes());
    let mut latin1 = manifest("acme", WEB).into_bytes();
    latin1.extend(b"  # caf\xe9\n");

    vec![
        // Broken YAML.
        case("unclosed-flow", manifest("acme", "  env: {A: [x\n"), (8, 1)),
        case(
            "bad-indent",
            "apiVersion: ferry/v1\nkind: App\n  metadata: x\n",
            (3, 11),
        ),
        case(
            "tab-indent",
            "apiVersion: ferry/v1\nkind: App\nspec:\n\timage: x\n",
            (4, 1),
        ),
        case("two-documents", format!("{valid}---\n{valid}"), (9, 1)),
        case("empty", "", (1, 1)),
        case("comments-only", "# nothing\n\n", (1, 1)),
        case("top-level-list", "- apiVersion: ferry/v1\n", (1, 1)),
        case(
            "unknown-field",
            manifest("acme", &format!("  replicas: 3\n{WEB}")),
            (7, 3),
        ),
        case(
            "missing-spec",
            "apiVersion: ferry/v1\nkind: App\nmetadata: {name: a}\n",
            (1, 1),
        ),
        // Wrong types.
        case(
            "scale-word",
            manifest("acme", "  processes:\n    web: {scale: two}\n"),
            (8, 18),
        ),
        case(
            "cpu-quoted",
            manifest("acme", "  processes:\n    web: {cpu: '512'}\n"),
            (8, 16),
        ),
        case(
            "memory-unit",
            manifest("acme", "  processes:\n    web: {memory: 512Mi}\n"),
            (8, 19),
        ),
        case(
            "port-bool",
            manifest("acme", "  processes:\n    web: {port: true}\n"),
            (8, 17),
        ),
        case(
            "env-list",
            manifest("acme", &format!("  env: [A, B]\n{WEB}")),
            (7, 3),
        ),
        case(
            "processes-number",
            manifest("acme", "  processes: 5\n"),
            (7, 14),
        ),
        // Duplicate keys.
        case(
            "duplicate-image",
            manifest("acme", &format!("  image: acme/other:2\n{WEB}")),
            (7, 3),
        ),
        case(
            "duplicate-process",
            manifest("acme", "  processes:\n    web: {}\n    web: {}\n"),
            (9, 5),
        ),
        // Anchors, aliases and tags.
        case("billion-laughs", billion, (8, 13)),
        case(
            "alias",
            manifest("acme", "  env: {A: &x a, B: *x}\n"),
            (7, 15),
        ),
        case("tag", manifest("acme", "  env: {A: !secret a}\n"), (7, 20)),
        // Deep nesting.
        case(
            "deep-brackets",
            manifest("acme", &format!("  env: {}\n", "[".repeat(100_000))),
            (7, 263),
        ),
        case(
            "deep-mappings",
            manifest("acme", &format!("  env: {}\n", "{a: ".repeat(100_000))),
            (7, 128),
        ),
        case(
            "deep-dashes",
            format!("{}x\n", "- ".repeat(100_000)),
            (1, 65),
        ),
        // Huge files and values.
        case(
            "over-the-limit",
            format!("{valid}# {}\n", "x".repeat(1_100_000)),
            (1, 1),
        ),
        with(case("sparse-23mb", "", (1, 1)), Setup::Sparse(23_000_000)),
        case(
            "huge-image",
            manifest("acme", WEB).replace("acme/app:1", &"A".repeat(900_000)),
            (6, 10),
        ),
        case(
            "huge-env",
            manifest("acme", &format!("  env:\n{big_env}{WEB}")),
            (7, 3),
        ),
        case(
            "huge-key",
            manifest(
                "acme",
                &format!("  env:\n    ? {}\n    : x\n{WEB}", "K-".repeat(100_000)),
            ),
            // The key makes the task definition too large, at `env`,
            // before its name is refused at 8:7.
            (7, 3),
        ),
        // Not UTF-8, byte order marks, NUL.
        case("latin-1", latin1, (9, 8)),
        case("utf-16", utf16, (1, 1)),
        case("bom-invalid-name", bom, (4, 9)),
        case("bom-broken-yaml", bom_broken, (8, 1)),
        case(
            "nul-in-value",
            manifest("acme", WEB).replace("acme/app:1", "acme\0app"),
            (6, 14),
        ),
        case("nul-first", "\0apiVersion: ferry/v1\n", (1, 1)),
        case(
            "escape-sequence",
            manifest("a\\e[2Jb", WEB).replace("name: a\\e[2Jb", "name: \"a\\e[2Jb\""),
            (4, 9),
        ),
        // Every name limit.
        case("app-name-41", manifest(&"a".repeat(41), WEB), (4, 9)),
        case("app-name-upper", manifest("Acme", WEB), (4, 9)),
        case("app-name-underscore", manifest("acme_inc", WEB), (4, 9)),
        case(
            "process-name-25",
            manifest(
                "acme",
                &format!("  processes:\n    {}: {{}}\n", "w".repeat(25)),
            ),
            (8, 5),
        ),
        case(
            "process-name-underscore",
            manifest("acme", "  processes:\n    web_1: {}\n"),
            (8, 5),
        ),
        case(
            "env-name-digit",
            manifest("acme", &format!("  env: {{1BAD: x}}\n{WEB}")),
            (7, 9),
        ),
        case(
            "env-name-dash",
            manifest("acme", &format!("  env: {{A-B: x}}\n{WEB}")),
            (7, 9),
        ),
        case(
            "secret-name",
            manifest(
                "acme",
                &format!(
                    "  secrets: {{A.B: 'arn:aws:ssm:us-east-1:123456789012:parameter/x'}}\n{WEB}"
                ),
            ),
            (7, 13),
        ),
        case(
            "domain-label-64",
            manifest(
                "acme",
                &format!("  domains: [{}.example.com]\n{WEB}", "a".repeat(64)),
            ),
            (7, 13),
        ),
        case(
            "domain-too-long",
            manifest(
                "acme",
                &format!("  domains: [{}]\n{WEB}", vec!["abcdefghi"; 26].join(".")),
            ),
            (7, 13),
        ),
        case(
            "domain-upper",
            manifest("acme", &format!("  domains: [Acme.example.com]\n{WEB}")),
            (7, 13),
        ),
        case(
            "domain-one-label",
            manifest("acme", &format!("  domains: [localhost]\n{WEB}")),
            (7, 13),
        ),
        // Procfile escapes.
        case(
            "procfile-passwd",
            manifest("acme", "  procfile: ../../../../../../../../etc/passwd\n"),
            (7, 13),
        ),
        case(
            "procfile-environ",
            manifest("acme", "  procfile: /proc/self/environ\n"),
            (7, 13),
        ),
        with(
            case(
                "procfile-symlink",
                manifest("acme", "  procfile: Procfile\n"),
                (7, 13),
            ),
            Setup::Symlink("/etc/passwd"),
        ),
        with(
            case(
                "procfile-sibling",
                manifest("acme", "  procfile: ../sibling/Procfile\n"),
                (7, 13),
            ),
            Setup::Sibling,
        ),
        with(
            case(
                "procfile-binary",
                manifest("acme", "  procfile: Procfile\n"),
                (7, 13),
            ),
            Setup::Procfile(b"web: serve \xff\xfe\x00\n"),
        ),
        // Plain secrets.
        case(
            "plain-secret",
            manifest("acme", &format!("  secrets: {{DB: {PLAIN_SECRET}}}\n{WEB}")),
            (7, 17),
        ),
        case(
            "password-secret",
            manifest(
                "acme",
                &format!("  secrets: {{DB: 'P@ssw0rd!{CANARY}'}}\n{WEB}"),
            ),
            (7, 17),
        ),
        case(
            "wrong-arn",
            manifest(
                "acme",
                &format!("  secrets: {{DB: 'arn:aws:s3:::bucket/key'}}\n{WEB}"),
            ),
            (7, 17),
        ),
    ]
}

/// The number of cases the top-level README says `hostile` applies
/// ("`hostile` applies N broken and malicious manifests").
fn cases_the_readme_states() -> usize {
    let path = crate::support::repo_root().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let words: Vec<&str> = readme.split_whitespace().collect();
    let stated = words
        .windows(3)
        .find(|w| w[0] == "`hostile`" && w[1] == "applies")
        .and_then(|w| w[2].parse().ok());
    stated.unwrap_or_else(|| panic!("{} says no \"`hostile` applies N\"", path.display()))
}

/// Writes a case into its own directory; returns the manifest's path.
fn write(root: &Path, case: &Case) -> PathBuf {
    let dir = root.join(case.name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join("app.yaml");
    match &case.setup {
        Setup::Sparse(size) => {
            let handle = std::fs::File::create(&file).expect("create");
            handle.set_len(*size).expect("set_len");
            return file;
        }
        Setup::Procfile(text) => std::fs::write(dir.join("Procfile"), text).expect("procfile"),
        Setup::Symlink(target) => {
            std::os::unix::fs::symlink(target, dir.join("Procfile")).expect("symlink");
        }
        Setup::Sibling => {
            let sibling = root.join("sibling");
            std::fs::create_dir_all(&sibling).expect("mkdir");
            std::fs::write(sibling.join("Procfile"), format!("web: serve {CANARY}\n"))
                .expect("procfile");
        }
        Setup::None => {}
    }
    std::fs::write(&file, &case.bytes).expect("write");
    file
}

#[tokio::test(flavor = "multi_thread")]
async fn every_hostile_manifest_fails_located_quickly_and_writes_nothing() {
    let local = LocalAws::start().expect("local AWS");
    let root = local.dir().join("corpus");
    let cases = corpus();
    // The README states the corpus's size: a case dropped, or a README
    // that says more than is tested, fails here.
    assert_eq!(
        cases.len(),
        cases_the_readme_states(),
        "cases in the corpus"
    );
    let mut names: Vec<&str> = cases.iter().map(|case| case.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let dynamodb = local.dynamodb().await;
    let items = |output: aws_sdk_dynamodb::operation::scan::ScanOutput| output.count();
    let items_before = items(
        dynamodb
            .scan()
            .table_name("ferry")
            .send()
            .await
            .expect("scan"),
    );
    let writes_before = local.requests().iter().filter(|r| r.is_write()).count();

    let mut failures = Vec::new();
    for case in &cases {
        let file = write(&root, case);
        let shown = file.display().to_string();
        let started = Instant::now();
        let out = local
            .ferry_command(&["apply", "-f", &shown])
            .env("FERRY_CANARY_SECRET", CANARY)
            .output()
            .expect("run ferry");
        let elapsed = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let printed = format!("{stdout}{stderr}");
        let mut problems = Vec::new();
        match out.status.code() {
            None => problems.push(format!("killed by a signal: {}", out.status)),
            Some(0) => problems.push("succeeded".to_owned()),
            Some(101) => problems.push("exit code 101 (a panic)".to_owned()),
            Some(_) => {}
        }
        if stderr.contains("panicked") {
            problems.push("panicked".to_owned());
        }
        if elapsed > MAX_RUN {
            problems.push(format!("took {elapsed:?}"));
        }
        let (line, column) = case.at;
        let located = format!("{shown}:{line}:{column}: ");
        let first = stderr.lines().next().unwrap_or_default();
        if !first.starts_with(&located) {
            let shown_first: String = first.chars().take(300).collect();
            problems.push(format!(
                "the first error is not at {located}; it is {shown_first:?}"
            ));
        }
        if printed.contains(CANARY) || printed.contains(PLAIN_SECRET) {
            problems.push("printed the canary or the plain secret".to_owned());
        }
        let leaked = passwd
            .lines()
            .filter(|line| line.len() > 8)
            .any(|line| printed.contains(line));
        if printed.contains("root:x:") || leaked {
            problems.push("printed /etc/passwd".to_owned());
        }
        if stderr.len() > 200_000 {
            problems.push(format!("printed {} bytes", stderr.len()));
        }
        if !problems.is_empty() {
            let head: String = stderr.chars().take(2000).collect();
            failures.push(format!("{}: {}\n{head}", case.name, problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // Nothing reached DynamoDB: no write call, no new item, no app.
    let writes_after = local.requests().iter().filter(|r| r.is_write()).count();
    assert_eq!(writes_before, writes_after, "an invalid apply wrote");
    let items_after = items(
        dynamodb
            .scan()
            .table_name("ferry")
            .send()
            .await
            .expect("scan"),
    );
    assert_eq!(items_before, items_after);
    let listed = local.ferry(&["get", "-o", "json"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "[]");
}
