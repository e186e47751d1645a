//! The ABI from the outside: C libraries compiled here with the system compiler against the
//! committed header, loaded through the real loader. Broken descriptors each get their own
//! message; the example C probe works through both runners and through `patchdeck check`.

use patchdeck_core::discovery;
use patchdeck_core::plugin;
use patchdeck_probe_api::Status;
use patchdeck_tests::*;
use std::path::PathBuf;

const VARIANTS: &[(&str, &str)] = &[
    (
        "BAD_MAGIC",
        "bad magic 0x12345678 in descriptor (expected 0x50444B31, \"PDK1\")",
    ),
    (
        "ABI_MAJOR_2",
        "unsupported ABI major version 2 (this patchdeck speaks 1)",
    ),
    (
        "SHORT_STRUCT",
        "descriptor struct_size 24 is smaller than the v1 size 72",
    ),
    (
        "NULL_DESCRIPTOR",
        "`patchdeck_probe_v1` returned NULL: the plugin cannot serve a host speaking ABI 1.1",
    ),
    ("NULL_CHECK", "descriptor function `check` is NULL"),
    (
        "BAD_KIND",
        "invalid kind \"Bad Kind\": must match [a-z0-9-]+",
    ),
];

fn variants_c() -> PathBuf {
    repo_root().join("tests/fixtures/c/variants.c")
}

fn build_variant(dir: &std::path::Path, define: &str) -> PathBuf {
    let out = dir.join(format!("lib{}.so", define.to_lowercase()));
    compile_c(&variants_c(), &out, &[define]);
    out
}

#[tokio::test]
async fn each_broken_descriptor_gets_its_own_message_in_a_child_and_in_process() {
    let dir = scratch("abi-variants");
    let mut files = Vec::new();
    for (define, _) in VARIANTS {
        files.push(build_variant(&dir, define));
    }
    let no_symbol = build_variant(&dir, "NO_SYMBOL");
    let results = discovery::inspect(&probe_host(), &files).await;
    for ((define, expected), result) in VARIANTS.iter().zip(&results) {
        assert_eq!(
            result.as_ref().unwrap_err(),
            expected,
            "variant {define} inspected in a child"
        );
    }
    for ((define, expected), file) in VARIANTS.iter().zip(&files) {
        let err = plugin::load(file).unwrap_err().to_string();
        assert_eq!(&err, expected, "variant {define} loaded in-process");
    }
    let err = plugin::load(&no_symbol).unwrap_err().to_string();
    assert_eq!(
        err,
        "not a patchdeck plugin: no symbol `patchdeck_probe_v1`"
    );
    let in_child = discovery::inspect(&probe_host(), &[no_symbol]).await;
    assert_eq!(
        in_child[0].as_ref().unwrap_err(),
        "not a patchdeck plugin: no symbol `patchdeck_probe_v1`"
    );
}

#[tokio::test]
async fn a_library_that_crashes_while_loading_is_reported_and_the_rest_still_inspected() {
    let dir = scratch("abi-crash-on-load");
    let crash = build_variant(&dir, "CRASH_ON_LOAD");
    let good = dir.join("libgood.so");
    compile_c(&variants_c(), &good, &["KIND=\"good-variant\""]);
    let results = discovery::inspect(&probe_host(), &[crash, good, mock_lib()]).await;
    assert_eq!(
        results[0].as_ref().unwrap_err(),
        "crashed while loading: SIGSEGV"
    );
    assert_eq!(results[1].as_ref().unwrap().kind, "good-variant");
    assert_eq!(results[2].as_ref().unwrap().kind, "mock");
}

#[tokio::test]
async fn a_file_that_is_no_library_keeps_dlerrors_reason() {
    let dir = scratch("abi-not-elf");
    let fake = dir.join("libfake.so");
    // Longer than an ELF header, so the loader reads the magic and says what is wrong.
    std::fs::write(&fake, "#!/bin/sh\necho this is not ELF\n".repeat(20)).unwrap();
    let in_child = discovery::inspect(&probe_host(), std::slice::from_ref(&fake)).await;
    let err = in_child[0].as_ref().unwrap_err();
    assert!(
        err.starts_with(&format!(
            "cannot load library: dlopen failed: {}: ",
            fake.display()
        )) && err.contains("invalid ELF header"),
        "{err}"
    );
}

#[test]
fn patchdeck_plugins_lists_every_file_with_its_problem() {
    let dir = scratch("abi-plugins-cmd");
    for (define, _) in VARIANTS {
        build_variant(&dir, define);
    }
    build_variant(&dir, "NO_SYMBOL");
    let out = run_patchdeck(&[
        "plugins",
        "--format",
        "json",
        "--plugin-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plugins = doc["plugins"].as_array().unwrap();
    for (define, expected) in VARIANTS {
        let file = format!("lib{}.so", define.to_lowercase());
        let entry = plugins
            .iter()
            .find(|p| p["path"].as_str().unwrap().ends_with(&file))
            .expect(&file);
        assert_eq!(entry["problem"], *expected, "{file}");
        assert!(entry["kind"].is_null());
    }
    let mock = plugins
        .iter()
        .find(|p| p["kind"] == "mock")
        .expect("mock plugin next to the binary");
    assert_eq!(mock["abi"], "1.1");
    assert!(mock["problem"].is_null());

    let out = run_patchdeck(&["plugins", "--plugin-dir", dir.to_str().unwrap()]);
    let listing = text(&out.stdout);
    assert!(
        listing.contains("problem: descriptor function `check` is NULL"),
        "{listing}"
    );
    assert!(
        listing.contains("mock             0.1.0    ABI 1.1"),
        "{listing}"
    );
}

#[tokio::test]
async fn the_c_example_probe_works_through_both_runners() {
    let dir = scratch("abi-c-example");
    let plugins = dir.join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    compile_c(
        &repo_root().join("probe-api/examples/c/example_probe.c"),
        &plugins.join("libc_example.so"),
        &[],
    );
    let cfg = r#"
[[probe]]
id = "c-isolated"
plugin = "c-example"
timeout = "3s"
[probe.config]
status = "warning"

[[probe]]
id = "c-inproc"
plugin = "c-example"
isolation = "in-process"
[probe.config]
status = "critical"

[[probe]]
id = "c-bad"
plugin = "c-example"
[probe.config]
status = "purple"
"#;
    let engine = engine(&dir, cfg, &[plugins]).await;
    let iso = engine.probes[0].run_once().await;
    assert_eq!(iso.status, Status::Warning, "{iso:?}");
    assert_eq!(iso.summary, "hello from C (run 1)");
    let report = iso.report.unwrap();
    assert_eq!(report.details[0].value, "3000 ms");
    assert_eq!(report.items[0].title, "Written in C");
    // Schema 1.1 from C: a non-OK item carries evidence and fix through the real ABI.
    assert_eq!(report.items[0].status, Status::Warning);
    assert_eq!(
        report.items[0].evidence.as_deref(),
        Some("[probe.config] status is not ok")
    );
    assert_eq!(
        report.items[0].fix.as_deref(),
        Some("Set status = \"ok\" in this probe's [probe.config].")
    );
    assert_eq!(
        engine.probes[0].run_once().await.summary,
        "hello from C (run 2)"
    );

    let inproc = engine.probes[1].run_once().await;
    assert_eq!(
        (inproc.status, inproc.summary.as_str()),
        (Status::Critical, "hello from C (run 1)")
    );

    let bad = engine.probes[2].run_once().await;
    assert_eq!(bad.status, Status::Unknown);
    assert_eq!(
        bad.error.as_deref(),
        Some(
            "plugin rejected its config: field status: \"purple\" is not one of ok, warning, critical, unknown"
        )
    );
    engine.shutdown().await;
}

#[test]
fn patchdeck_check_runs_a_c_probe_dropped_into_a_plugin_folder() {
    let dir = scratch("abi-c-check");
    let plugins = dir.join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    compile_c(
        &repo_root().join("probe-api/examples/c/example_probe.c"),
        &plugins.join("libc_example.so"),
        &[],
    );
    let cfg = write_config(
        &dir,
        "[settings]\nplugin_dirs = [\"plugins\"]\n\n[[probe]]\nid = \"from-c\"\nplugin = \"c-example\"\n",
    );
    let out = run_patchdeck(&[
        "check",
        "--config",
        cfg.to_str().unwrap(),
        "--format",
        "nagios",
    ]);
    assert_eq!(
        text(&out.stdout),
        "from-c OK: hello from C (run 1) | runs=1c\n",
        "{}",
        text(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test]
async fn a_plugin_printing_to_stdout_does_not_corrupt_the_isolated_protocol() {
    let dir = scratch("abi-chatty");
    let plugins = dir.join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    compile_c(
        &variants_c(),
        &plugins.join("libchatty.so"),
        &["CHATTY", "KIND=\"chatty\""],
    );
    let engine = engine(
        &dir,
        "[[probe]]\nid = \"chatty\"\nplugin = \"chatty\"\n",
        &[plugins],
    )
    .await;
    for _ in 0..3 {
        let r = engine.probes[0].run_once().await;
        assert_eq!(
            (r.status, r.summary.as_str()),
            (Status::Ok, "variant ok"),
            "{r:?}"
        );
    }
    engine.shutdown().await;
}

/// A plugin built against the ABI 1.0 header (abi_minor 0, struct_size without `rules_json`)
/// still loads under ABI 1.1: it has no rule index, and `[probe.rules]` for it is refused by
/// `config check` with a message naming the probe.
#[tokio::test]
async fn a_plugin_built_for_abi_1_0_still_loads_and_has_no_rules() {
    let dir = scratch("abi-1-0");
    let lib = build_variant(&dir, "ABI_1_0");
    let results = discovery::inspect(&probe_host(), std::slice::from_ref(&lib)).await;
    let info = results[0].as_ref().expect("an ABI 1.0 plugin loads");
    assert_eq!((info.abi_major, info.abi_minor), (1, 0));
    assert!(info.rules.is_empty());
    let cfg = format!(
        "[settings]\nplugin_dirs = [\"{}\"]\n[[probe]]\nid = \"old\"\nplugin = \"{}\"\n[probe.rules]\n\"x.y\" = \"off\"\n",
        dir.display(),
        lib.display()
    );
    let path = dir.join("old.toml");
    std::fs::write(&path, cfg).unwrap();
    let out = run_patchdeck(&["config", "check", "--config", path.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("probe \"old\"")
            && stdout.contains("publishes no rules, so `x.y` cannot be overridden"),
        "{stdout}"
    );
}
