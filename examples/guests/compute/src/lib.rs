//! `compute(a, b) = a * b`, with no imports and no allocator: the smallest useful component.
#![no_std]

wit_bindgen::generate!({ world: "compute", path: "wit" });

struct Compute;

impl Guest for Compute {
    fn compute(a: i32, b: i32) -> i32 {
        a.wrapping_mul(b)
    }
}

export!(Compute);

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// `compute` never allocates; the runtime support of wit-bindgen only needs an allocator to exist.
struct NoAlloc;

unsafe impl core::alloc::GlobalAlloc for NoAlloc {
    unsafe fn alloc(&self, _: core::alloc::Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _: *mut u8, _: core::alloc::Layout) {}
}

#[global_allocator]
static ALLOC: NoAlloc = NoAlloc;
