//! keops-ts's CPU engine: a `no_std` WASM SIMD interpreter of the instruction programs that the
//! TypeScript side compiles from formula trees, with every reduction of the core built in.
//!
//! ABI: raw pointers into linear memory. The driver writes inputs, the program, the register
//! table and a `Header` after `__heap_base`, then calls `run(header)`.
#![cfg_attr(not(test), no_std)]

pub mod math;

#[cfg(target_arch = "wasm32")]
mod engine;
#[cfg(target_arch = "wasm32")]
mod gauss;
#[cfg(target_arch = "wasm32")]
mod lanes;
#[cfg(target_arch = "wasm32")]
mod opcodes;
#[cfg(target_arch = "wasm32")]
mod reduce;
#[cfg(target_arch = "wasm32")]
mod special;

#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Runs the call described by the header at `header` (see `engine::Header`).
///
/// # Safety
/// The header and everything it points to must have been laid out by the TypeScript driver.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub unsafe extern "C" fn run(header: *const engine::Header) {
    let h = &*header;
    if gauss::try_run(h) {
        return;
    }
    if h.dtype == 0 {
        engine::run::<lanes::F32x4>(h)
    } else {
        engine::run::<lanes::F64x2>(h)
    }
}

/// The ABI version, checked by the loader.
#[no_mangle]
pub extern "C" fn abi_version() -> i32 {
    1
}
