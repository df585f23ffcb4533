// A C++17 program using both public headers (scripts/consumers.sh): the NT names from C++,
// the structures' wdm.h layout, and the in-stack queued spin lock across threads.
#include <exalloc.h>
#include <exalloc_nt.h>

#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

static_assert(sizeof(NPAGED_LOOKASIDE_LIST) == 0x80, "NPAGED_LOOKASIDE_LIST is 0x80 bytes");
static_assert(alignof(NPAGED_LOOKASIDE_LIST) == 64, "lookaside lists are cache-aligned");
static_assert(offsetof(GENERAL_LOOKASIDE, ListEntry) == 0x40, "GENERAL_LOOKASIDE.ListEntry");
static_assert(sizeof(SLIST_HEADER) == 16 && alignof(SLIST_HEADER) == 16, "SLIST_HEADER");
static_assert(alignof(exa_queued_lock_handle_t) == 64, "queued lock handles are cache-aligned");

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "consumer-cpp: line %d: failed: %s\n", __LINE__, #cond); \
            return 1;                                                                 \
        }                                                                             \
    } while (0)

namespace {
constexpr ULONG tag_of(const char (&s)[5]) {
    return ULONG(static_cast<unsigned char>(s[0])) | ULONG(static_cast<unsigned char>(s[1])) << 8 |
           ULONG(static_cast<unsigned char>(s[2])) << 16 | ULONG(static_cast<unsigned char>(s[3])) << 24;
}
}  // namespace

int main() {
    CHECK(exa_abi_version() == EXA_ABI_VERSION);
    CHECK(exa_struct_size(EXA_STRUCT_QUEUED_LOCK_HANDLE) == sizeof(exa_queued_lock_handle_t));

    // ExInitializeNPagedLookasideList: NT's fields and counters, LIFO reuse.
    const ULONG tag = tag_of("PkgX");
    NPAGED_LOOKASIDE_LIST list;
    ExInitializeNPagedLookasideList(&list, nullptr, nullptr, POOL_NX_ALLOCATION, 64, tag, 0);
    CHECK(list.L.Depth == 4 && list.L.MaximumDepth == 256 && list.L.Tag == tag && list.L.Size == 64);
    void *blocks[3];
    for (auto &b : blocks) {
        b = ExAllocateFromNPagedLookasideList(&list);
        CHECK(b != nullptr);
    }
    for (auto *b : blocks) ExFreeToNPagedLookasideList(&list, b);
    CHECK(list.L.TotalAllocates == 3 && list.L.AllocateMisses == 3);
    CHECK(list.L.TotalFrees == 3 && list.L.FreeMisses == 0);
    CHECK(ExQueryDepthSList(&list.L.ListHead) == 3);
    CHECK(ExAllocateFromNPagedLookasideList(&list) == blocks[2]);  // freed last, handed out first
    ExFreeToNPagedLookasideList(&list, blocks[2]);
    ExDeleteNPagedLookasideList(&list);

    // ExAllocatePoolWithTag / ExQueryPoolBlockSize / ExFreePoolWithTag.
    auto *p = static_cast<unsigned char *>(ExAllocatePoolWithTag(NonPagedPoolNx, 200, tag));
    CHECK(p != nullptr);
    std::memset(p, 0xC3, 200);
    BOOLEAN quota = TRUE;
    CHECK(ExQueryPoolBlockSize(p, &quota) >= 200 && quota == FALSE);
    ExFreePoolWithTag(p, tag);

    // Four threads count under one in-stack queued spin lock: no increment may be lost.
    KSPIN_LOCK lock;
    KeInitializeSpinLock(&lock);
    long long counter = 0;
    constexpr int threads = 4, rounds = 20000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; t++) {
        workers.emplace_back([&] {
            for (int i = 0; i < rounds; i++) {
                KLOCK_QUEUE_HANDLE handle;
                KeAcquireInStackQueuedSpinLock(&lock, &handle);
                long long seen = counter;
                counter = seen + 1;
                KeReleaseInStackQueuedSpinLock(&handle);
            }
        });
    }
    for (auto &w : workers) w.join();
    CHECK(counter == static_cast<long long>(threads) * rounds);
    CHECK(KeGetCurrentIrql() == PASSIVE_LEVEL);

    std::printf("consumer-cpp: NT lookaside LIFO and counters, pool block %u bytes, %lld locked increments\n",
                200u, counter);
    return 0;
}
