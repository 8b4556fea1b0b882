//! `berth cp` between the host and running or stopped containers, with docker cp's
//! semantics, and the guarantee that a container's symlinks (even ones it swaps in
//! mid-copy) never make the copy read or write the host outside the container
//! (CVE-2018-15664).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use testsupport::{stderr, stdout, Berth};

fn berth() -> Berth {
    Berth::new(env!("CARGO_BIN_EXE_berth"))
}

/// The fixture's /etc/passwd (testsupport::busybox_rootfs).
const FIXTURE_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";

/// A name no other test (or test run) uses, for paths that must stay absent on the host.
fn unique(tag: &str) -> String {
    format!(
        "berth-cp-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    )
    .replace(['(', ')'], "")
}

fn id_of(b: &Berth, name: &str) -> String {
    b.ok(&["inspect", "-f", "{{.Id}}", name])
}

fn upper(b: &Berth, name: &str) -> PathBuf {
    b.root()
        .join("containers")
        .join(id_of(b, name))
        .join("upper")
}

/// Runs `berth cp` with `input` on stdin; returns the output.
fn cp_stdin(b: &Berth, args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = b
        .cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // berth may refuse before reading it all (then the pipe breaks): not an error here.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

/// Lists the names in a tar stream with the host's tar.
fn tar_list(data: &[u8]) -> Vec<String> {
    let mut child = Command::new("tar")
        .arg("-tf")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "tar -t failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end_matches('/').to_string())
        .collect()
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

#[test]
fn a_file_is_copied_out_of_a_running_and_a_stopped_container() {
    let b = berth();
    b.detached(
        &["--name", "live"],
        &[
            "sh",
            "-c",
            "echo running > /tmp/f; chmod 640 /tmp/f; chown 1000:1000 /tmp/f; sleep 60",
        ],
    );
    assert!(b.eventually(5, || b
        .run(&["exec", "live", "test", "-f", "/tmp/f"])
        .status
        .success()));
    let host = tempfile::tempdir().unwrap();
    let dest = host.path().join("f");
    b.ok(&["cp", "live:/tmp/f", dest.to_str().unwrap()]);
    assert_eq!(fs::read_to_string(&dest).unwrap(), "running\n");
    assert_eq!(mode(&dest), 0o640);
    assert_eq!(
        fs::metadata(&dest).unwrap().uid(),
        1000,
        "copying out keeps the container's owner"
    );

    // Into an existing host directory: DEST/basename.
    b.ok(&["cp", "live:/etc/passwd", host.path().to_str().unwrap()]);
    assert_eq!(
        fs::read_to_string(host.path().join("passwd")).unwrap(),
        FIXTURE_PASSWD
    );

    let out = b.run_ctr(
        &["--name", "done"],
        &["sh", "-c", "echo stopped > /root/note"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    b.ok(&["cp", "done:/root/note", dest.to_str().unwrap()]);
    assert_eq!(
        fs::read_to_string(&dest).unwrap(),
        "stopped\n",
        "an existing file is replaced"
    );
    // Relative container paths are relative to its /.
    b.ok(&[
        "cp",
        "done:root/note",
        host.path().join("rel").to_str().unwrap(),
    ]);
    assert_eq!(
        fs::read_to_string(host.path().join("rel")).unwrap(),
        "stopped\n"
    );
}

#[test]
fn a_tree_is_copied_in_and_out_with_modes_links_and_owners() {
    let b = berth();
    b.detached(&["--name", "tr"], &["sleep", "60"]);
    let host = tempfile::tempdir().unwrap();
    let tree = host.path().join("tree");
    fs::create_dir_all(tree.join("sub")).unwrap();
    fs::write(tree.join("a.txt"), "alpha\n").unwrap();
    fs::write(tree.join("sub/run.sh"), "#!/bin/sh\n").unwrap();
    symlink("a.txt", tree.join("rel-link")).unwrap();
    symlink("/etc/passwd", tree.join("abs-link")).unwrap();
    std::os::unix::fs::chown(tree.join("a.txt"), Some(1000), Some(1000)).unwrap();
    fs::set_permissions(tree.join("a.txt"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(tree.join("sub/run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(tree.join("sub"), fs::Permissions::from_mode(0o750)).unwrap();
    let touched = Command::new("touch")
        .args(["-h", "-d", "@1000000000"])
        .arg(tree.join("a.txt"))
        .status()
        .unwrap();
    assert!(touched.success());

    // Into an existing directory: /tmp/tree. Owned by root without -a.
    b.ok(&["cp", tree.to_str().unwrap(), "tr:/tmp"]);
    let stat = |p: &str| b.ok(&["exec", "tr", "stat", "-c", "%a %u:%g %Y", p]);
    assert_eq!(stat("/tmp/tree/a.txt"), "640 0:0 1000000000");
    assert_eq!(
        stat("/tmp/tree/sub").split(' ').take(2).collect::<Vec<_>>(),
        ["750", "0:0"]
    );
    assert!(stat("/tmp/tree/sub/run.sh").starts_with("755 0:0"));
    assert_eq!(
        b.ok(&["exec", "tr", "readlink", "/tmp/tree/rel-link"]),
        "a.txt"
    );
    assert_eq!(
        b.ok(&["exec", "tr", "readlink", "/tmp/tree/abs-link"]),
        "/etc/passwd"
    );
    assert_eq!(b.ok(&["exec", "tr", "cat", "/tmp/tree/rel-link"]), "alpha");

    // With -a, the source's ids are kept; a missing DEST becomes the copy.
    b.ok(&["cp", "-a", tree.to_str().unwrap(), "tr:/tmp/kept"]);
    assert_eq!(stat("/tmp/kept/a.txt"), "640 1000:1000 1000000000");

    // "dir/." copies the contents into an existing directory.
    b.ok(&["exec", "tr", "mkdir", "/tmp/flat"]);
    b.ok(&["cp", &format!("{}/.", tree.display()), "tr:/tmp/flat"]);
    assert_eq!(b.ok(&["exec", "tr", "cat", "/tmp/flat/a.txt"]), "alpha");

    // And back out: modes, mtimes, symlinks and owners as they are in the container.
    let back = host.path().join("back");
    b.ok(&["cp", "tr:/tmp/kept", back.to_str().unwrap()]);
    assert_eq!(fs::read_to_string(back.join("a.txt")).unwrap(), "alpha\n");
    assert_eq!(mode(&back.join("a.txt")), 0o640);
    assert_eq!(fs::metadata(back.join("a.txt")).unwrap().uid(), 1000);
    assert_eq!(
        fs::metadata(back.join("a.txt")).unwrap().mtime(),
        1_000_000_000
    );
    assert_eq!(mode(&back.join("sub")), 0o750);
    assert_eq!(mode(&back.join("sub/run.sh")), 0o755);
    assert_eq!(
        fs::read_link(back.join("abs-link")).unwrap(),
        Path::new("/etc/passwd")
    );
    assert_eq!(
        fs::read_link(back.join("rel-link")).unwrap(),
        Path::new("a.txt")
    );

    // Kernel interfaces are not files to copy.
    let out = b.run(&["cp", "tr:/proc/1/status", host.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("pseudo-file system"),
        "{}",
        stderr(&out)
    );

    // A directory cannot replace a file.
    let out = b.run(&["cp", tree.to_str().unwrap(), "tr:/etc/passwd"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("cannot copy a directory to a file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tar_streams_go_to_stdout_and_come_from_stdin() {
    let b = berth();
    b.detached(&["--name", "ts"], &["sh", "-c", "mkdir /tmp/in; sleep 60"]);
    assert!(b.eventually(5, || b
        .run(&["exec", "ts", "test", "-d", "/tmp/in"])
        .status
        .success()));
    let out = b.run(&["cp", "ts:/www", "-"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let names = tar_list(&out.stdout);
    assert!(
        names.contains(&"www".to_string()) && names.contains(&"www/index.html".to_string()),
        "{names:?}"
    );

    let host = tempfile::tempdir().unwrap();
    fs::create_dir(host.path().join("d")).unwrap();
    fs::write(host.path().join("d/hello"), "from a tar\n").unwrap();
    let tar = Command::new("tar")
        .arg("-C")
        .arg(host.path())
        .args(["-cf", "-", "d"])
        .output()
        .unwrap();
    assert!(tar.status.success());
    let out = cp_stdin(&b, &["cp", "-", "ts:/tmp/in"], &tar.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        b.ok(&["exec", "ts", "cat", "/tmp/in/d/hello"]),
        "from a tar"
    );
    assert_eq!(
        b.ok(&["exec", "ts", "stat", "-c", "%u", "/tmp/in/d/hello"]),
        "0"
    );

    // The destination of a tar stream must be an existing directory.
    let out = cp_stdin(&b, &["cp", "-", "ts:/tmp/missing"], &tar.stdout);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("must be an existing directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_tar_stream_cannot_write_through_its_own_symlink() {
    let b = berth();
    b.detached(&["--name", "tx"], &["sleep", "60"]);
    let name = unique("tar");
    let host = tempfile::tempdir().unwrap();
    fs::create_dir_all(host.path().join("one")).unwrap();
    fs::create_dir_all(host.path().join("two/esc")).unwrap();
    symlink("/", host.path().join("one/esc")).unwrap();
    fs::write(host.path().join("two/esc").join(&name), "escaped\n").unwrap();
    // "esc -> /" first, then "esc/NAME": extracting naively would write /NAME.
    let tar = Command::new("tar")
        .args(["-cf", "-", "-C"])
        .arg(host.path().join("one"))
        .arg("esc")
        .arg("-C")
        .arg(host.path().join("two"))
        .arg(format!("esc/{name}"))
        .output()
        .unwrap();
    assert!(tar.status.success());
    let out = cp_stdin(&b, &["cp", "-", "tx:/tmp"], &tar.stdout);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("refusing to write below"),
        "{}",
        stderr(&out)
    );
    assert!(!Path::new("/").join(&name).exists(), "wrote to the host");
    assert!(
        !b.run(&["exec", "tx", "test", "-e", &format!("/{name}")])
            .status
            .success(),
        "wrote through the link"
    );
}

#[test]
fn container_symlinks_never_reach_the_host() {
    let b = berth();
    let setup = "mkdir -p /data && ln -s / /data/link && ln -s ../../../../../.. /data/rel";
    let out = b.run_ctr(&["--name", "stopped"], &["sh", "-c", setup]);
    assert!(out.status.success(), "{}", stderr(&out));
    b.detached(
        &["--name", "running"],
        &["sh", "-c", &format!("{setup}; sleep 60")],
    );
    assert!(b.eventually(5, || b
        .run(&["exec", "running", "test", "-L", "/data/rel"])
        .status
        .success()));
    let host_passwd = fs::read_to_string("/etc/passwd").unwrap();
    assert_ne!(
        host_passwd, FIXTURE_PASSWD,
        "the test needs the host's passwd to differ"
    );
    let src = tempfile::tempdir().unwrap();
    let payload = src.path().join("payload");
    fs::write(&payload, "inside\n").unwrap();

    for ctr in ["stopped", "running"] {
        for link in ["link", "rel"] {
            // Reading through the link reads the container's own files.
            let out = b.run(&["cp", &format!("{ctr}:/data/{link}/etc/passwd"), "-"]);
            assert!(out.status.success(), "{}", stderr(&out));
            let mut child = Command::new("tar")
                .args(["-xOf", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(&out.stdout).unwrap();
            let content = stdout(&child.wait_with_output().unwrap());
            assert_eq!(content, FIXTURE_PASSWD, "{ctr} {link}");
            assert!(content.starts_with("root:x:0:0:root:/root:/bin/sh\n"));

            let host = tempfile::tempdir().unwrap();
            b.ok(&[
                "cp",
                &format!("{ctr}:/data/{link}/etc/passwd"),
                host.path().join("p").to_str().unwrap(),
            ]);
            assert_eq!(
                fs::read_to_string(host.path().join("p")).unwrap(),
                FIXTURE_PASSWD
            );

            // Writing through the link writes into the container.
            let name = unique(&format!("{ctr}-{link}"));
            b.ok(&[
                "cp",
                payload.to_str().unwrap(),
                &format!("{ctr}:/data/{link}/tmp/{name}"),
            ]);
            assert!(
                !Path::new("/tmp").join(&name).exists(),
                "{ctr} {link}: wrote to the host's /tmp"
            );
            let dir_name = unique(&format!("{ctr}-{link}-dir"));
            b.ok(&[
                "cp",
                src.path().to_str().unwrap(),
                &format!("{ctr}:/data/{link}/{dir_name}"),
            ]);
            assert!(
                !Path::new("/").join(&dir_name).exists(),
                "{ctr} {link}: wrote to the host's /"
            );
            if ctr == "stopped" {
                let up = upper(&b, ctr);
                assert_eq!(
                    fs::read_to_string(up.join("tmp").join(&name)).unwrap(),
                    "inside\n"
                );
                assert!(up.join(&dir_name).join("payload").exists());
            } else {
                assert_eq!(
                    b.ok(&["exec", ctr, "cat", &format!("/tmp/{name}")]),
                    "inside"
                );
                assert_eq!(
                    b.ok(&["exec", ctr, "cat", &format!("/{dir_name}/payload")]),
                    "inside"
                );
            }
        }
        // A link named as the destination directory is followed inside the root too.
        b.ok(&[
            "cp",
            payload.to_str().unwrap(),
            &format!("{ctr}:/data/link/"),
        ]);
        assert!(!Path::new("/payload").exists());
    }
}

#[test]
fn a_container_racing_to_swap_a_directory_for_a_symlink_stays_inside() {
    let b = berth();
    // /w/d flips between a directory and a symlink to / as fast as the shell can.
    let flip = "mkdir -p /w; while true; do mkdir /w/d 2>/dev/null; mkdir -p /w/d/etc; \
                rm -rf /w/d; ln -s / /w/d; rm -f /w/d; done";
    b.detached(&["--name", "racer"], &["sh", "-c", flip]);
    let host = tempfile::tempdir().unwrap();
    let name = unique("race");
    let tree = host.path().join(&name);
    fs::create_dir_all(tree.join("etc")).unwrap();
    fs::write(tree.join("etc/file"), "x\n").unwrap();
    let out_dir = host.path().join("out");
    fs::create_dir(&out_dir).unwrap();
    let mut copied = 0;
    for _ in 0..40 {
        // Failures are expected (the path keeps vanishing); escapes are not.
        let one = b.run(&["cp", tree.to_str().unwrap(), "racer:/w/d/"]);
        let two = b.run(&["cp", &format!("{}/.", tree.display()), "racer:/w/d"]);
        copied += usize::from(one.status.success()) + usize::from(two.status.success());
        let out = b.run(&[
            "cp",
            "racer:/w/d/etc/passwd",
            out_dir.join("p").to_str().unwrap(),
        ]);
        if out.status.success() {
            assert_eq!(
                fs::read_to_string(out_dir.join("p")).unwrap(),
                FIXTURE_PASSWD
            );
        }
        assert!(
            !Path::new("/").join(&name).exists(),
            "the race wrote to the host's /"
        );
        assert!(
            !Path::new("/etc/file").exists(),
            "the race wrote to the host's /etc"
        );
    }
    assert!(
        copied > 0,
        "no copy got through the race: the test proves nothing"
    );
}

#[test]
fn copies_into_a_stopped_container_land_in_its_volumes() {
    let b = berth();
    let out = b.run_ctr(&["--name", "vol", "-v", "cpvol:/vol"], &["true"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let host = tempfile::tempdir().unwrap();
    fs::write(host.path().join("f"), "in the volume\n").unwrap();
    b.ok(&["cp", host.path().join("f").to_str().unwrap(), "vol:/vol/"]);
    let data = b.root().join("volumes/cpvol/_data");
    assert_eq!(
        fs::read_to_string(data.join("f")).unwrap(),
        "in the volume\n"
    );
    assert!(
        !upper(&b, "vol").join("vol/f").exists(),
        "not in the container's own layer"
    );
    // The volume's content is visible when copying out of the stopped container too.
    b.ok(&["cp", "vol:/vol/f", host.path().join("g").to_str().unwrap()]);
    assert_eq!(
        fs::read_to_string(host.path().join("g")).unwrap(),
        "in the volume\n"
    );
    let out = b.run_ctr(&["--rm", "-v", "cpvol:/v"], &["cat", "/v/f"]);
    assert_eq!(stdout(&out), "in the volume\n");
    b.ok(&["rm", "vol"]);
    b.ok(&["volume", "rm", "cpvol"]);
}

#[test]
fn errors_say_what_is_wrong() {
    let b = berth();
    let out = b.run_ctr(&["--name", "er"], &["true"]);
    assert!(out.status.success());
    let host = tempfile::tempdir().unwrap();
    let f = host.path().join("f");
    fs::write(&f, "tx").unwrap();
    let h = host.path().to_str().unwrap();
    let check = |args: &[&str], want: &str| {
        let out = b.run(args);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    };
    check(&["cp", "ghost:/etc/passwd", h], "no such container: ghost");
    check(
        &["cp", "er:/nope", h],
        "Could not find the file /nope in container er",
    );
    check(
        &["cp", f.to_str().unwrap(), "er:/no/such/dir/f"],
        "destination directory /no/such/dir in container er does not exist",
    );
    check(
        &["cp", f.to_str().unwrap(), "er:/newdir/"],
        "does not exist",
    );
    check(&["cp", "er:/etc/passwd/", h], "not a directory");
    check(
        &[
            "cp",
            host.path().join("missing").to_str().unwrap(),
            "er:/tmp",
        ],
        "no such file or directory",
    );
    check(
        &["cp", f.to_str().unwrap(), h],
        "one of SRC and DEST must be CONTAINER:PATH",
    );
    check(
        &["cp", "er:/etc", "er:/tmp"],
        "copying between containers is not supported",
    );
}
