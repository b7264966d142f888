//! What a process owns, seen from inside: its ids, its credentials, where
//! its variables live in its address space, and its descriptor table.
//! `cargo run -p process-01-anatomy -- --pause` keeps it alive for 60 s so
//! that you can look at it from another terminal.
use nix::unistd::{getegid, geteuid, getgid, getpid, getppid, getuid};
use std::fs;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

// ANCHOR: statics
/// Starts non-zero, so the compiler must store its value in the
/// executable file: it lands in the `.data` section.
static VISITS: AtomicU64 = AtomicU64::new(7);
/// Starts as all zeros, so the file only records its size: it lands in
/// `.bss`, memory the kernel hands out already zeroed when the program starts.
static SCRATCH: [AtomicU8; 256 * 1024] = [const { AtomicU8::new(0) }; 256 * 1024];
// ANCHOR_END: statics

/// One line of /proc/self/maps: "start-end perms offset dev inode [path]".
struct Region {
    start: usize,
    end: usize,
    perms: String,
    name: String,
}

fn read_maps() -> Vec<Region> {
    let exe = fs::read_link("/proc/self/exe").unwrap_or_default();
    let exe = exe.to_string_lossy().into_owned();
    let text = fs::read_to_string("/proc/self/maps").expect("no /proc/self/maps: not Linux?");
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (start, end) = fields[0].split_once('-').unwrap();
            let path = fields.get(5).copied().unwrap_or("");
            // Show file names short, and this program under one fixed name.
            let name = if path == exe {
                "<this program>".to_string()
            } else if path.is_empty() {
                "(anonymous)".to_string()
            } else {
                path.rsplit('/').next().unwrap().to_string()
            };
            Region {
                start: usize::from_str_radix(start, 16).unwrap(),
                end: usize::from_str_radix(end, 16).unwrap(),
                perms: fields[1].to_string(),
                name,
            }
        })
        .collect()
}

fn main() {
    // ANCHOR: ids
    println!("pid {}, started by ppid {}", getpid(), getppid());
    println!(
        "credentials: uid={} gid={} (real), euid={} egid={} (effective, checked on every access)",
        getuid(),
        getgid(),
        geteuid(),
        getegid()
    );
    // The kernel keeps four of each: real, effective, saved, filesystem.
    let status = fs::read_to_string("/proc/self/status").unwrap();
    for line in status
        .lines()
        .filter(|l| l.starts_with("Uid:") || l.starts_with("Gid:"))
    {
        println!("  /proc/self/status  {line}");
    }
    // ANCHOR_END: ids

    // ANCHOR: addresses
    let on_stack: u64 = 42; // a local: lives in main's stack frame
    let small = Box::new([1u8; 64]); // malloc: small blocks come from the brk heap
    let large = vec![1u8; 4 << 20]; // 4 MiB: malloc asks the kernel for a fresh mmap
    VISITS.fetch_add(1, Ordering::Relaxed);
    SCRATCH[0].store(1, Ordering::Relaxed);

    let things: [(&str, usize); 7] = [
        ("fn main (code)", main as fn() as usize),
        ("static VISITS (.data)", &VISITS as *const _ as usize),
        ("static SCRATCH starts (.bss)", SCRATCH.as_ptr() as usize),
        (
            "SCRATCH ends",
            SCRATCH.as_ptr() as usize + SCRATCH.len() - 1,
        ),
        ("Box, 64 B (heap)", &*small as *const _ as usize),
        ("Vec, 4 MiB (mmap)", large.as_ptr() as usize),
        ("local on_stack (stack)", &on_stack as *const _ as usize),
    ];
    println!();
    println!("address space, low to high (/proc/self/maps, one line per region):");
    for region in read_maps() {
        let inside: Vec<&str> = things
            .iter()
            .filter(|(_, addr)| (region.start..region.end).contains(addr))
            .map(|(what, _)| *what)
            .collect();
        let marker = if inside.is_empty() {
            String::new()
        } else {
            format!("  <- {}", inside.join(", "))
        };
        println!(
            "  {:#014x}  {:>9} KiB  {}  {}{}",
            region.start,
            (region.end - region.start) / 1024,
            region.perms,
            region.name,
            marker
        );
    }
    // ANCHOR_END: addresses

    // ANCHOR: fds
    // Open one file ourselves, so that the table has more than the three
    // descriptors every process inherits.
    let scratch = std::env::temp_dir().join(format!("process-01-anatomy-{}.txt", getpid()));
    let file = fs::File::create(&scratch).expect("cannot create a scratch file");
    println!();
    println!("descriptor table (/proc/self/fd, each entry a symbolic link):");
    let listing = fs::read_dir("/proc/self/fd").expect("no /proc/self/fd");
    let mut fds: Vec<(u32, String)> = listing
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let fd = entry.file_name().to_string_lossy().parse().ok()?;
            let target = fs::read_link(entry.path())
                .ok()?
                .to_string_lossy()
                .into_owned();
            Some((fd, target))
        })
        .collect();
    fds.sort();
    let mut inherited = Vec::new();
    for (fd, target) in fds {
        let note = match fd {
            0 => "standard input",
            1 => "standard output",
            2 => "standard error",
            _ if target.starts_with("/tmp/") => "the file this program just created",
            _ if target.ends_with("/fd") => "the directory read_dir is listing right now",
            _ => {
                // Anything else came from whoever started us.
                inherited.push(format!("{fd} -> {target}"));
                continue;
            }
        };
        println!("  {fd:>3} -> {target:<40} {note}");
    }
    // Descriptors above 2 that a parent forgot to mark close-on-exec leak
    // into every program it starts. A shell started fresh passes none.
    let inherited = if inherited.is_empty() {
        "none".to_string()
    } else {
        inherited.join(", ")
    };
    println!("  also inherited from the parent: {inherited}");
    drop(file);
    fs::remove_file(&scratch).unwrap();
    // ANCHOR_END: fds

    if std::env::args().any(|a| a == "--pause") {
        println!();
        println!(
            "pausing 60 s: try `cat /proc/{}/maps` in another terminal",
            getpid()
        );
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
    std::hint::black_box((&small, &large));
}
