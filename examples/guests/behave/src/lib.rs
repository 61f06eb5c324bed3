//! Guests that sleep, trap, spin, grow memory, burn fuel, or use one capability from one function.

wit_bindgen::generate!({ world: "behave", path: "wit" });

struct Behave;

impl exports::wippy::behave::test_sleep::Guest for Behave {
    fn sleep_ms(ms: u32) -> u64 {
        let start = std::time::Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(u64::from(ms)));
        start.elapsed().as_millis() as u64
    }
}

impl Guest for Behave {
    fn plain() -> String {
        String::from("plain")
    }

    fn random_u64() -> u64 {
        wasi::random::random::get_random_u64() >> 1
    }

    fn trap() {
        core::arch::wasm32::unreachable()
    }

    fn spin() {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }

    fn grow(mib: u32) -> u64 {
        let len = (mib as usize) << 20;
        let mut v: Vec<u8> = Vec::with_capacity(len);
        for i in (0..len).step_by(4096) {
            v.push((i & 0xff) as u8);
        }
        std::hint::black_box(&v);
        len as u64
    }

    fn burn(n: u64) -> u64 {
        let mut acc: u64 = 0;
        for i in 0..n {
            acc = std::hint::black_box(acc.wrapping_add(i));
        }
        acc
    }
}

export!(Behave);
