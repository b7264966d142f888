//! spawn, join, and thread::Builder: a name and a stack size, and what the
//! stack size really became.
use std::thread;

/// The size of the calling thread's stack, as glibc recorded it.
fn my_stack_size() -> usize {
    // SAFETY: `attr` is initialised by pthread_getattr_np before it is read
    // and destroyed once; `pthread_self()` is always a valid thread.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        assert_eq!(libc::pthread_getattr_np(libc::pthread_self(), &mut attr), 0);
        let mut size = 0;
        assert_eq!(libc::pthread_attr_getstacksize(&attr, &mut size), 0);
        libc::pthread_attr_destroy(&mut attr);
        size
    }
}

fn main() {
    // ANCHOR: spawn
    // spawn takes a closure and returns at once; join waits for the thread
    // and hands back whatever the closure returned.
    let numbers: Vec<u64> = (1..=1_000).collect();
    let handle = thread::spawn(move || numbers.iter().sum::<u64>());
    let total = handle.join().unwrap();
    println!("sum computed on another thread: {total}");
    // ANCHOR_END: spawn

    // ANCHOR: builder
    // Builder sets what spawn leaves to defaults: a name (shown in panic
    // messages, and as the thread name in `ps -L` and `top -H`) and a stack size.
    let handle = thread::Builder::new()
        .name("small-stack".into())
        .stack_size(64 * 1024)
        .spawn(|| {
            let me = thread::current();
            (me.name().unwrap().to_string(), my_stack_size())
        })
        .expect("the OS refused to create a thread");
    let (name, size) = handle.join().unwrap();
    println!("thread {name:?} asked for 64 KiB of stack, got {} KiB", size / 1024);

    let default = thread::spawn(my_stack_size).join().unwrap();
    println!("a plain spawn gets {} KiB (Rust's default, RUST_MIN_STACK overrides it)", default / 1024);
    println!("main runs on the process's own stack: {} KiB (ulimit -s)", my_stack_size() / 1024);
    // ANCHOR_END: builder

    // ANCHOR: panic
    // A panic ends only the thread it happens in; join reports it as Err.
    let doomed = thread::Builder::new()
        .name("doomed".into())
        .spawn(|| -> u32 { panic!("this worker gives up") })
        .unwrap();
    match doomed.join() {
        Ok(v) => println!("unexpected: doomed returned {v}"),
        Err(payload) => {
            let msg = payload.downcast_ref::<&str>().copied().unwrap_or("?");
            println!("join returned Err, the panic said {msg:?}; main carries on");
        }
    }
    // ANCHOR_END: panic
}
