//! The allocator of every Lua state: each block is charged to the invocation (the *tenant*) that allocated it, so
//! several invocations can share one state and still each have their own `limits.max_memory` and their own
//! `collectgarbage("count")`.
//!
//! A [`Heap`] holds a fixed table of accounts: account 0 is the state's own (its setup, its libraries, and what
//! ended invocations left behind), the others are lent to tenants ([`Heap::join`]). Each block carries an 8-byte
//! tag in front of its data naming its account and the account's generation ([`install`] says how the blocks mlua
//! made before the switch are told apart). A new block is charged to the tenant this thread is running in the state
//! ([`Entered`], set around every poll of an invocation), or to account 0 when none is; a block that grows stays
//! with its account, unless another tenant runs (a reused coroutine's stack): then it becomes that tenant's. When a
//! tenant leaves ([`Tenant`] dropped), its account's bytes move to account 0 and the generation changes, so the
//! blocks it left behind are uncharged from account 0 when the collector frees them and the account can serve the
//! next tenant at once.
//!
//! An allocation that would take a tenant past its limit fails; Lua then runs an emergency collection and, if that
//! does not make room, raises "not enough memory" in the tenant's own code (the engine turns it into a limit error
//! naming `max_memory`). Account 0 has no limit.
//!
//! Concurrency: Lua calls the allocator only under the state's lock (mlua's), or while the state is being closed,
//! so the accounts are updated by one thread at a time; they are atomics only so that the process table may read a
//! tenant's figure from any thread.

use std::alloc::{self, Layout};
use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicIsize, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// How many tenants one heap can have at once (one bit each in [`Heap`]'s free set).
pub(crate) const MAX_TENANTS: usize = 64;

/// The size of a block's tag, in front of its data.
const TAG: usize = 8;

/// The alignment of mlua's own blocks, and of the start of ours (their data starts 8 bytes later: Lua needs 8).
const ALIGN: usize = mlua::ffi::SYS_MIN_ALIGN;
const _: () = assert!(ALIGN == 2 * TAG);
// mlua 0.11.6's allocator data (`MemoryState`: two `isize` and a `bool`) is freed in `install` as 24 bytes, align 8.
const _: () = assert!(std::mem::size_of::<isize>() == 8);

/// One account: the bytes charged to it, its limit (0: none) and its generation.
struct Account {
    used: AtomicIsize,
    limit: AtomicIsize,
    generation: AtomicU32,
}

impl Account {
    fn new() -> Account {
        Account { used: AtomicIsize::new(0), limit: AtomicIsize::new(0), generation: AtomicU32::new(0) }
    }
}

/// The accounts of one Lua state (the allocator's user data).
pub(crate) struct Heap {
    accounts: Box<[Account]>,
    /// Accounts 1.. not lent to a tenant: bit `i` stands for account `i + 1`.
    free: AtomicU64,
    /// The address of the state's main block (freed last by `lua_close`).
    main_block: AtomicUsize,
}

thread_local! {
    /// The heap and account new blocks are charged to on this thread: `(heap, account, generation)`.
    static ENTERED: Cell<(*const Heap, u32, u32)> = const { Cell::new((std::ptr::null(), 0, 0)) };
}

impl Heap {
    /// A heap with no tenants.
    pub(crate) fn new() -> Arc<Heap> {
        let accounts = (0..=MAX_TENANTS).map(|_| Account::new()).collect();
        Arc::new(Heap { accounts, free: AtomicU64::new(u64::MAX), main_block: AtomicUsize::new(0) })
    }

    /// Lends an account to a new tenant that may hold `limit` bytes; `None` when all are lent.
    pub(crate) fn join(self: &Arc<Heap>, limit: u64) -> Option<Tenant> {
        let mut free = self.free.load(Ordering::Acquire);
        let index = loop {
            if free == 0 {
                return None;
            }
            let bit = free.trailing_zeros();
            match self.free.compare_exchange_weak(free, free & !(1 << bit), Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => break bit + 1,
                Err(now) => free = now,
            }
        };
        let account = &self.accounts[index as usize];
        account.used.store(0, Ordering::Relaxed);
        account.limit.store(isize::try_from(limit).unwrap_or(isize::MAX).max(1), Ordering::Relaxed);
        let generation = account.generation.load(Ordering::Relaxed);
        Some(Tenant { heap: self.clone(), index, generation })
    }

    /// How many tenants the heap has.
    pub(crate) fn tenants(&self) -> usize {
        MAX_TENANTS - self.free.load(Ordering::Acquire).count_ones() as usize
    }

    /// The bytes of every account together.
    pub(crate) fn total(&self) -> usize {
        self.accounts.iter().map(|a| a.used.load(Ordering::Relaxed)).sum::<isize>().max(0) as usize
    }

    /// The account a tagged block is charged to: its own while the tag's generation is current, 0 otherwise.
    #[inline]
    fn account(&self, index: u32, generation: u32) -> &Account {
        match self.accounts.get(index as usize) {
            Some(a) if a.generation.load(Ordering::Relaxed) == generation => a,
            _ => &self.accounts[0],
        }
    }

    /// The tag new blocks get on this thread.
    #[inline]
    fn current(&self) -> (u32, u32) {
        let (heap, index, generation) = ENTERED.with(Cell::get);
        if std::ptr::eq(heap, self) {
            (index, generation)
        } else {
            (0, 0)
        }
    }
}

/// Adds `delta` bytes to `account`; refuses (and changes nothing) past its limit.
#[inline]
fn charge(account: &Account, delta: isize) -> bool {
    let before = account.used.fetch_add(delta, Ordering::Relaxed);
    if delta > 0 {
        let limit = account.limit.load(Ordering::Relaxed);
        if limit > 0 && before + delta > limit {
            account.used.fetch_sub(delta, Ordering::Relaxed);
            return false;
        }
    }
    true
}

/// An account lent to one invocation; leaving the heap when dropped.
pub(crate) struct Tenant {
    heap: Arc<Heap>,
    index: u32,
    generation: u32,
}

impl Tenant {
    /// What the invocation's context keeps to enter this tenant and read its figure.
    pub(crate) fn key(&self) -> TenantKey {
        TenantKey { heap: self.heap.clone(), index: self.index, generation: self.generation }
    }
}

/// Names a tenant without owning its account: entering or reading it after the tenant left charges account 0 and
/// reads 0.
#[derive(Clone)]
pub(crate) struct TenantKey {
    heap: Arc<Heap>,
    index: u32,
    generation: u32,
}

impl TenantKey {
    /// Charges the blocks this thread allocates in the heap to this tenant until the guard is dropped.
    pub(crate) fn enter(&self) -> Entered {
        Entered(ENTERED.with(|e| e.replace((Arc::as_ptr(&self.heap), self.index, self.generation))))
    }

    /// The bytes charged to the tenant (0 once it left).
    pub(crate) fn used(&self) -> usize {
        let account = &self.heap.accounts[self.index as usize];
        if account.generation.load(Ordering::Relaxed) != self.generation {
            return 0;
        }
        account.used.load(Ordering::Relaxed).max(0) as usize
    }
}

impl Drop for Tenant {
    fn drop(&mut self) {
        let accounts = &self.heap.accounts;
        let account = &accounts[self.index as usize];
        let left = account.used.swap(0, Ordering::Relaxed);
        account.limit.store(0, Ordering::Relaxed);
        account.generation.store(self.generation.wrapping_add(1), Ordering::Relaxed);
        accounts[0].used.fetch_add(left, Ordering::Relaxed);
        self.heap.free.fetch_or(1 << (self.index - 1), Ordering::Release);
    }
}

/// Puts back the tenant this thread ran before when dropped.
pub(crate) struct Entered((*const Heap, u32, u32));

impl Drop for Entered {
    fn drop(&mut self) {
        ENTERED.with(|e| e.set(self.0));
    }
}

/// Installs `heap` as the allocator of `lua`, a state mlua just created. The blocks mlua's allocator made so far
/// (16-aligned) stay charged to account 0 and are freed as that allocator would; ours are 8 bytes past a 16-byte
/// boundary, behind their tag, so the two kinds are told apart by address. mlua's allocator state is freed here:
/// mlua never reads it once the state has another allocator.
pub(crate) fn install(lua: &mlua::Lua, heap: Arc<Heap>) -> mlua::Result<()> {
    use mlua::ffi;
    let mut installed = false;
    // SAFETY: the closure runs with the state locked; it only reads the main thread and swaps the allocator, which
    // Lua allows at any time. mlua 0.11's allocator data is a `MemoryState` of two `isize` and a `bool` (24 bytes,
    // align 8) in a `Box`; a state without it (Lua's own allocator, when mlua's failed) is left alone.
    unsafe {
        lua.exec_raw::<()>((), |state| {
            ffi::lua_rawgeti(state, ffi::LUA_REGISTRYINDEX, ffi::LUA_RIDX_MAINTHREAD);
            let main = ffi::lua_tothread(state, -1);
            ffi::lua_pop(state, 1);
            let mut old = std::ptr::null_mut();
            ffi::lua_getallocf(main, &mut old);
            if main.is_null() || old.is_null() {
                return;
            }
            let bytes = ffi::lua_gc(main, ffi::LUA_GCCOUNT, 0) as isize * 1024
                + ffi::lua_gc(main, ffi::LUA_GCCOUNTB, 0) as isize;
            heap.accounts[0].used.store(bytes, Ordering::Relaxed);
            heap.main_block.store(main as usize - ffi::LUA_EXTRASPACE, Ordering::Relaxed);
            ffi::lua_setallocf(main, allocate, Arc::into_raw(heap.clone()) as *mut c_void);
            alloc::dealloc(old as *mut u8, Layout::from_size_align_unchecked(24, 8));
            installed = true;
        })?;
    }
    if installed {
        Ok(())
    } else {
        Err(mlua::Error::runtime("the Lua state does not use mlua's allocator"))
    }
}

/// Whether a block is one of ours (behind a tag), not one mlua's allocator made before [`install`].
fn ours(ptr: *mut c_void) -> bool {
    ptr as usize % ALIGN == TAG
}

/// The layout of one of our blocks of `size` bytes, its tag included.
fn layout(size: usize) -> Layout {
    // SAFETY: `allocate` refuses sizes past isize::MAX / 2, and ALIGN is a power of two.
    unsafe { Layout::from_size_align_unchecked(size + TAG, ALIGN) }
}

/// A new block of `size` bytes tagged `tag`, charged to its account; null when refused.
///
/// # Safety
/// `size` is non-zero and at most isize::MAX / 2.
unsafe fn fresh(heap: &Heap, tag: (u32, u32), size: usize) -> *mut c_void {
    let account = heap.account(tag.0, tag.1);
    if !charge(account, size as isize) {
        return std::ptr::null_mut();
    }
    // SAFETY: a non-zero size.
    let base = unsafe { alloc::alloc(layout(size)) };
    if base.is_null() {
        charge(account, -(size as isize));
        return std::ptr::null_mut();
    }
    // SAFETY: a fresh block of ours.
    unsafe { tagged(base, tag) }
}

/// Writes `tag` at the start of the block at `base` and returns where its data starts.
///
/// # Safety
/// `base` is the start of a live block of ours (16-aligned, its first 8 bytes the tag).
unsafe fn tagged(base: *mut u8, tag: (u32, u32)) -> *mut c_void {
    // SAFETY: as the caller promises.
    unsafe {
        base.cast::<u64>().write(((tag.0 as u64) << 32) | tag.1 as u64);
        base.add(TAG) as *mut c_void
    }
}

/// The tag of one of our blocks.
///
/// # Safety
/// `ptr` is a live block of ours.
unsafe fn tag_of(ptr: *mut c_void) -> (u32, u32) {
    // SAFETY: the tag is the 8 bytes before the data.
    let t = unsafe { (ptr as *const u8).sub(TAG).cast::<u64>().read() };
    ((t >> 32) as u32, t as u32)
}

/// The `lua_Alloc` of our states; `ud` is the state's [`Heap`] (one strong count, given back when Lua frees its
/// main block, the last thing `lua_close` does).
///
/// # Safety
/// Called by Lua only, with the heap [`install`] gave it, following `lua_Alloc`'s contract (`osize` is the block's
/// size whenever `ptr` is not null).
unsafe extern "C" fn allocate(ud: *mut c_void, ptr: *mut c_void, osize: usize, nsize: usize) -> *mut c_void {
    // SAFETY: `ud` holds a strong count of the heap until the main block is freed below.
    let heap = unsafe { &*(ud as *const Heap) };
    if nsize > isize::MAX as usize / 2 {
        return std::ptr::null_mut();
    }
    if ptr.is_null() {
        if nsize == 0 {
            return std::ptr::null_mut();
        }
        // SAFETY: a non-zero size within bounds.
        return unsafe { fresh(heap, heap.current(), nsize) };
    }
    if !ours(ptr) {
        // One of mlua's blocks, charged to account 0: freed, or moved into one of ours.
        let legacy = Layout::from_size_align(osize, ALIGN).ok();
        let moved = if nsize == 0 {
            std::ptr::null_mut()
        } else {
            // SAFETY: a non-zero size within bounds; both blocks hold at least `min(osize, nsize)` bytes.
            unsafe {
                let p = fresh(heap, (0, 0), nsize);
                if p.is_null() {
                    return p;
                }
                std::ptr::copy_nonoverlapping(ptr as *const u8, p as *mut u8, osize.min(nsize));
                p
            }
        };
        charge(&heap.accounts[0], -(osize as isize));
        if let Some(layout) = legacy {
            // SAFETY: mlua's allocator made this block with exactly this layout.
            unsafe { alloc::dealloc(ptr as *mut u8, layout) };
        }
        if nsize == 0 && ptr as usize == heap.main_block.load(Ordering::Relaxed) {
            // SAFETY: the main block goes last in `lua_close`; Lua never calls the allocator again.
            drop(unsafe { Arc::from_raw(ud as *const Heap) });
        }
        return moved;
    }
    // SAFETY: a live block of ours.
    let tag = unsafe { tag_of(ptr) };
    let account = heap.account(tag.0, tag.1);
    // SAFETY: the base of a block of ours.
    let base = unsafe { (ptr as *mut u8).sub(TAG) };
    if nsize == 0 {
        charge(account, -(osize as isize));
        // SAFETY: allocated with this layout.
        unsafe { alloc::dealloc(base, layout(osize)) };
        return std::ptr::null_mut();
    }
    let delta = nsize as isize - osize as isize;
    let current = if delta > 0 { heap.current() } else { tag };
    if current.0 != 0 && current != tag {
        // Growing while another tenant runs (a reused coroutine's stack): the block becomes that tenant's, within
        // its limit, rather than growing on the account of the invocation that made it (or of the state).
        let to = heap.account(current.0, current.1);
        if !std::ptr::eq(to, &heap.accounts[0]) {
            // SAFETY: as below; the tag is rewritten for the new owner.
            return unsafe { reown(base, osize, nsize, account, to, current) };
        }
    }
    if !charge(account, delta) {
        return std::ptr::null_mut();
    }
    // SAFETY: allocated with `layout(osize)`; the new size is non-zero and within bounds; the tag moves with it.
    let p = unsafe { alloc::realloc(base, layout(osize), nsize + TAG) };
    if p.is_null() {
        charge(account, -delta);
        return std::ptr::null_mut();
    }
    // SAFETY: past the tag of the moved block.
    unsafe { p.add(TAG) as *mut c_void }
}

/// Resizes the block at `base` (of `osize` bytes) to `nsize` and moves it from account `from` to `to`, tagged
/// `tag`; null (and nothing changed) when `to` has no room.
///
/// # Safety
/// `base` is the start of a live block of ours of `osize` bytes; `nsize` is non-zero and within bounds.
unsafe fn reown(
    base: *mut u8,
    osize: usize,
    nsize: usize,
    from: &Account,
    to: &Account,
    tag: (u32, u32),
) -> *mut c_void {
    if !charge(to, nsize as isize) {
        return std::ptr::null_mut();
    }
    // SAFETY: allocated with `layout(osize)`; the new size is non-zero and within bounds.
    let p = unsafe { alloc::realloc(base, layout(osize), nsize + TAG) };
    if p.is_null() {
        charge(to, -(nsize as isize));
        return std::ptr::null_mut();
    }
    charge(from, -(osize as isize));
    // SAFETY: the resized block of ours.
    unsafe { tagged(p, tag) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_are_charged_and_leave_their_blocks_to_the_state() {
        let heap = Heap::new();
        let ud = Arc::as_ptr(&heap) as *mut c_void;
        let tenant = heap.join(100).expect("an account");
        let p = {
            let _in = tenant.key().enter();
            // SAFETY: the allocator's contract: new blocks with a null pointer, frees with their size.
            unsafe { allocate(ud, std::ptr::null_mut(), 0, 64) }
        };
        assert!(!p.is_null());
        assert_eq!(tenant.key().used(), 64);
        {
            let _in = tenant.key().enter();
            // SAFETY: as above; this one is past the limit.
            assert!(unsafe { allocate(ud, std::ptr::null_mut(), 0, 64) }.is_null());
            // SAFETY: `p` is a block of 64 bytes.
            let q = unsafe { allocate(ud, p, 64, 96) };
            assert!(!q.is_null());
            assert_eq!(tenant.key().used(), 96);
            drop(tenant);
            assert_eq!(heap.total(), 96);
            assert_eq!(heap.tenants(), 0);
            // SAFETY: `q` is a block of 96 bytes.
            unsafe { allocate(ud, q, 96, 0) };
        }
        assert_eq!(heap.total(), 0);
    }

    #[test]
    fn a_block_that_grows_in_another_tenant_becomes_its() {
        let heap = Heap::new();
        let ud = Arc::as_ptr(&heap) as *mut c_void;
        let (a, b) = (heap.join(1000).expect("a"), heap.join(100).expect("b"));
        let p = {
            let _in = a.key().enter();
            // SAFETY: the allocator's contract, as above.
            unsafe { allocate(ud, std::ptr::null_mut(), 0, 40) }
        };
        let _in = b.key().enter();
        // Past b's limit: refused, and the block stays a's.
        // SAFETY: `p` is a block of 40 bytes.
        assert!(unsafe { allocate(ud, p, 40, 200) }.is_null());
        assert_eq!((a.key().used(), b.key().used()), (40, 0));
        // SAFETY: as above.
        let q = unsafe { allocate(ud, p, 40, 80) };
        assert!(!q.is_null());
        assert_eq!((a.key().used(), b.key().used()), (0, 80));
        // Shrinking keeps the owner.
        drop(_in);
        let _in = a.key().enter();
        // SAFETY: `q` is a block of 80 bytes.
        let r = unsafe { allocate(ud, q, 80, 16) };
        assert_eq!((a.key().used(), b.key().used()), (0, 16));
        // SAFETY: `r` is a block of 16 bytes.
        unsafe { allocate(ud, r, 16, 0) };
        assert_eq!(heap.total(), 0);
    }
}
