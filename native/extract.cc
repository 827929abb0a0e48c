// The native extraction engine: the hot loop of `ioc-enrich extract` (one thread) in C++.
//
// Why it exists: the issue's throughput targets (text >= 60 MiB/s, CSV >= 30 MiB/s on dense logs, one core) are
// out of reach of JavaScript on this machine. A JavaScript loop that only cuts one regular-expression match per
// occurrence and looks it up in a Map already runs slower than that on logs with 14 occurrences per KiB; this
// engine does the per-occurrence work (finding candidates, dedup, formatting the row) on bytes, without a string
// or an object per occurrence.
//
// What stays in JavaScript, and is called back for: everything decided once per distinct value (screening, the
// allowlist, the public-suffix test of a domain, IPv6 validation and canonical form, unwrapping links, the
// lookalike test), and the extraction of a field with a non-ASCII byte (JavaScript's offsets count UTF-16 code
// units, its lower-casing is Unicode's, and internationalised names are read there, with node:url's IDNA). The
// context the scan sees around a candidate (src/extract/context.ts) goes to screening in the value.
//
// Screening is called back for a batch of first sightings at a time, not once per value (issue 12): a value
// with no verdict yet joins the open batch and its rows wait, in their places, until the batch is screened (see
// Engine::flush). Measured with callgrind on 15 MB of the all-unique corpus, this hardly changes the count
// (4.074 -> 4.061 G instructions): the call itself was never the cost, screening's own work is. The domain-kind,
// top-level-label, IPv6 and hash-key call backs stay one per distinct argument (memoised): their answers decide
// what the scan finds next.
//
// Memory: the dedup state is a 96-bit fingerprint and a verdict code per distinct observable (16 bytes a slot and
// a mark byte, see FingerprintTable), not its text (issue 12: 1.2 million distinct values of a proxy log cost
// 394 MB with the text kept, 143 MB without). The text of an observable is the text found, written from the
// occurrence at hand; only an observable that screening transformed keeps its text, in a side table (rare).
// So the rules of screening live in one place, src/screen.ts and src/extract; this file is a port of
// src/extract/refang.ts (finding the edits and the offset map), src/extract/index.ts (the scan of refanged ASCII
// text), the verdict table of src/occurrences.ts and the row format of src/parallel/chunk-extract.ts. A change to
// any of those must be made here too: test/native/native-engine.test.ts compares the two engines byte for byte on
// random input, and test/parallel.test.ts on the corpus.
//
// Positions are byte offsets; on ASCII text they are the same as JavaScript's string offsets. `at()` reads 0
// outside the text where JavaScript's charCodeAt gives NaN: the two compare alike everywhere below (neither is a
// character class, a digit, a letter or any of the compared characters; `NaN | 0x20` is 0x20 as `0 | 0x20` is).

#define NAPI_VERSION 8
#include <node_api.h>

#include "load.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>
#ifndef _WIN32
#include <sys/mman.h>
#endif
#ifdef __GLIBC__
#include <malloc.h>
#endif
#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Character classes (src/extract/index.ts)

constexpr uint8_t HOST = 1, ALNUM = 2, HEX = 4, URL_CHAR = 8, LETTER = 16, IPV6_CHAR = 32, DIGIT = 64;
uint8_t CLASS[256];

void addClass(const char* chars, uint8_t flags) {
  for (const char* c = chars; *c != 0; ++c) CLASS[static_cast<uint8_t>(*c)] |= flags;
}

void initClasses() {
  for (int code = 33; code < 127; ++code) CLASS[code] = URL_CHAR;
  for (const char* c = "\"'<>\\^`{|}"; *c != 0; ++c) CLASS[static_cast<uint8_t>(*c)] = 0;
  addClass("0123456789", HOST | ALNUM | HEX | IPV6_CHAR | DIGIT);
  addClass("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", HOST | ALNUM | LETTER);
  addClass("abcdefABCDEF", HEX | IPV6_CHAR);
  addClass("-_.", HOST);
  addClass(":.", IPV6_CHAR);
}

constexpr int DOT = 46, COLON = 58, SLASH = 47;

// IoC types, in the order of IOC_TYPES (src/types.ts).
enum Type : uint8_t { IPV4 = 0, IPV6 = 1, DNS = 2, URL = 3, MD5 = 4, SHA1 = 5, SHA256 = 6 };
const std::string TYPE_NAMES[] = {"ipv4", "ipv6", "dns", "url", "md5_hash", "sha1_hash", "sha256_hash"};

inline uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c | 0x20) : c; }

// ---------------------------------------------------------------------------------------------------------------
// A hash table of byte strings, keyed by a tag byte and the bytes, with an int value: the bounded memos (of the call
// backs, and of the spellings and rejections screening returned). Open addressing, linear probing. Entries are
// removed only all at once (clear).

struct Slot {
  uint64_t hash;  // 0: empty
  uint32_t off;   // key in the arena: the tag byte, then the bytes
  uint32_t len;   // bytes, without the tag
  int32_t value;
};

// Eight bytes at a time: keys are short (a domain, a URL, a hash), and this runs for every occurrence.
uint64_t hashOf(uint8_t tag, const uint8_t* bytes, size_t length) {
  uint64_t h = (0x9e3779b97f4a7c15ULL * (tag + 1ULL)) ^ length;
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    h = (h ^ load64(bytes + i)) * 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  uint64_t tail = loadUpTo8(bytes + i, length - i);
  h = (h ^ tail) * 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 29;
  h *= 0x9e3779b97f4a7c15ULL;
  h ^= h >> 32;
  return h | 1;
}

// Open addressing with a mark byte a slot, in an array beside the slots, read before the slot: a key that is not
// in the table (each value met for the first time) reads only marks, an array a sixteenth of the slots' size or
// less and mostly in the cache where the slots are not (issue 12: on mostly distinct text the slot reads were the
// engine's costliest instructions, cache misses). Both tables below probe this way.

// A hash's mark: never 0 (0 marks an empty slot), from bits 48 to 54, which pick neither a slot nor one of the
// dedup table's segments (its top bits).
inline uint8_t markOf(uint64_t hash) { return static_cast<uint8_t>((hash >> 48) | 0x80); }

// The index of the slot that `matches` in the probe from `hash`, or -1 at the first empty slot.
template <typename Matches>
long findMarked(const uint8_t* marks, size_t mask, uint64_t hash, Matches matches) {
  uint8_t mark = markOf(hash);
  for (size_t index = hash & mask;; index = (index + 1) & mask) {
    uint8_t at = marks[index];
    if (at == 0) return -1;
    if (at == mark && matches(index)) return static_cast<long>(index);
  }
}

// Marks the first empty slot of the probe from `hash` for it and returns its index.
inline size_t claimMarked(uint8_t* marks, size_t mask, uint64_t hash) {
  size_t index = hash & mask;
  while (marks[index] != 0) index = (index + 1) & mask;
  marks[index] = markOf(hash);
  return index;
}

class Table {
 public:
  Table() : slots_(1024), marks_(1024) {}

  // The slot of the key, or null when the table does not hold it (marks first: see findMarked).
  Slot* find(uint64_t hash, uint8_t tag, const uint8_t* bytes, size_t length) {
    long index = findMarked(marks_.data(), slots_.size() - 1, hash, [&](size_t at) {
      const Slot& slot = slots_[at];
      return slot.hash == hash && slot.len == length && static_cast<uint8_t>(arena_[slot.off]) == tag &&
             std::memcmp(arena_.data() + slot.off + 1, bytes, length) == 0;
    });
    return index < 0 ? nullptr : &slots_[static_cast<size_t>(index)];
  }

  // Adds a key the table does not hold (see find); may move every slot (pointers from find are then stale).
  void insert(uint64_t hash, uint8_t tag, const uint8_t* bytes, size_t length, int32_t value) {
    // Keys are found by 32-bit offsets: past 4 GiB of keys nothing more goes in (the engine then fails the run).
    if (arena_.size() + length + 1 > UINT32_MAX) {
      full_ = true;
      return;
    }
    place(Slot{hash, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(length), value});
    arena_.push_back(static_cast<char>(tag));
    arena_.append(reinterpret_cast<const char*>(bytes), length);
    ++count_;
    if (count_ * 2 > slots_.size()) rehash(slots_.size() * 2);
  }

  size_t count() const { return count_; }
  bool full() const { return full_; }

  void clear() {
    std::vector<Slot>(1024).swap(slots_);
    std::vector<uint8_t>(1024).swap(marks_);
    std::string().swap(arena_);
    count_ = 0;
  }

 private:
  // Puts `slot` (a key not in the table) in the first empty slot of its probe.
  void place(const Slot& slot) { slots_[claimMarked(marks_.data(), slots_.size() - 1, slot.hash)] = slot; }

  void rehash(size_t size) {
    std::vector<Slot> old(size);
    old.swap(slots_);
    std::vector<uint8_t> oldMarks(size);
    oldMarks.swap(marks_);
    for (size_t index = 0; index < old.size(); ++index) {
      if (oldMarks[index] != 0) place(old[index]);
    }
  }

  std::vector<Slot> slots_;
  std::vector<uint8_t> marks_;
  std::string arena_;
  size_t count_ = 0;
  bool full_ = false;
};

// ---------------------------------------------------------------------------------------------------------------
// The dedup table: a fingerprint per distinct observable, not its text (issue 12: 1.1 million distinct URLs of a
// proxy log cost 394 MB with the text kept).
//
// A fingerprint is 96 bits of MurmurHash3_x64_128 (Austin Appleby, public domain) of the value, seeded with its
// type. Two distinct values share one with odds of about n^2 / 2^97 among n distinct values: 1e-17 for 1.2 million,
// 6e-12 for a billion; the one that loses would be reported with the other's verdict (as a Duplicate, say), with its
// own text. MurmurHash3 is not built against deliberate collisions: input written to collide on purpose could hide a
// value behind another (a crafted log line, not a plausible attack on this tool's readers). A slot is 16 bytes (the
// fingerprint and a verdict code) and a mark byte beside it; each of the table's segments doubles at 70 % full, so a
// distinct value costs 17 / 0.7 to 17 / 0.35 bytes (24 to 49).

struct Fingerprint {
  uint64_t a;  // never 0 (0 marks an empty slot); its low bits pick the slot
  uint32_t b;
};

inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

Fingerprint fingerprintOf(uint8_t tag, const uint8_t* data, size_t length) {
  constexpr uint64_t C1 = 0x87c37b91114253d5ULL, C2 = 0x4cf5ad432745937fULL;
  uint64_t h1 = tag + 1ULL, h2 = tag + 1ULL;
  size_t blocks = length / 16;
  for (size_t i = 0; i < blocks; ++i) {
    uint64_t k1 = load64(data + i * 16);
    uint64_t k2 = load64(data + i * 16 + 8);
    k1 *= C1; k1 = rotl64(k1, 31); k1 *= C2; h1 ^= k1;
    h1 = rotl64(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729;
    k2 *= C2; k2 = rotl64(k2, 33); k2 *= C1; h2 ^= k2;
    h2 = rotl64(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5;
  }
  const uint8_t* tail = data + blocks * 16;
  size_t rest = length & 15;
  if (rest > 8) {
    uint64_t k2 = loadUpTo8(tail + 8, rest - 8);
    k2 *= C2; k2 = rotl64(k2, 33); k2 *= C1; h2 ^= k2;
  }
  if (rest > 0) {
    uint64_t k1 = loadUpTo8(tail, rest > 8 ? 8 : rest);
    k1 *= C1; k1 = rotl64(k1, 31); k1 *= C2; h1 ^= k1;
  }
  h1 ^= length;
  h2 ^= length;
  h1 += h2;
  h2 += h1;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 += h2;
  h2 += h1;
  return Fingerprint{h1 | 1, static_cast<uint32_t>(h2)};
}

struct FingerprintSlot {
  uint64_t a;  // never 0 (see Fingerprint)
  uint32_t b;
  uint32_t code;  // the verdict code (see Engine::Verdicts)
};

// Zeroed pages for the dedup table's segments, straight from the system (mmap), and back to it when a segment
// grows: through malloc, the segments a table outgrew stayed in the heap as free but resident blocks (glibc
// raises its mmap threshold to the size of each large block freed), 11 MB of the peak on 1.2 million values.
void* zeroedPages(size_t bytes) {
#ifdef _WIN32
  return std::calloc(bytes, 1);
#else
  void* pages = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return pages == MAP_FAILED ? nullptr : pages;
#endif
}

void releasePages(void* pages, size_t bytes) {
#ifdef _WIN32
  (void)bytes;
  std::free(pages);
#else
  munmap(pages, bytes);
#endif
}

class FingerprintTable {
 public:
  FingerprintTable() {
    for (Segment& segment : segments_) {
      if (!segment.allocate(256)) std::abort();  // 272 KiB at start: no memory for that, nothing runs
    }
  }
  ~FingerprintTable() {
    for (Segment& segment : segments_) segment.release();
  }
  FingerprintTable(const FingerprintTable&) = delete;
  FingerprintTable& operator=(const FingerprintTable&) = delete;

  // The slot of the fingerprint, or null when the table does not hold it (marks first: see findMarked).
  FingerprintSlot* find(const Fingerprint& f) {
    Segment& segment = segments_[f.a >> (64 - SEGMENT_BITS)];
    long index = findMarked(segment.marks, segment.size - 1, f.a, [&](size_t at) {
      return segment.slots[at].a == f.a && segment.slots[at].b == f.b;
    });
    return index < 0 ? nullptr : &segment.slots[index];
  }

  // Starts loading what find(f) and insert(f) read first, the mark and the slot where f's probe starts, for a
  // caller that knows which fingerprints it will ask for next (see Engine::screenBatch and flush): on mostly
  // distinct text they are cache misses, and the rows of a batch ask for each one twice.
  void prefetch(const Fingerprint& f) const {
    const Segment& segment = segments_[f.a >> (64 - SEGMENT_BITS)];
    size_t index = f.a & (segment.size - 1);
    __builtin_prefetch(segment.marks + index);
    __builtin_prefetch(segment.slots + index);
  }

  // Adds a fingerprint the table does not hold; returns its slot, or null when the system has no memory for a
  // larger segment.
  FingerprintSlot* insert(const Fingerprint& f, uint32_t code) {
    Segment& segment = segments_[f.a >> (64 - SEGMENT_BITS)];
    FingerprintSlot* slot = segment.place(FingerprintSlot{f.a, f.b, code});
    if (++segment.count * 10 <= segment.size * 7) return slot;
    Segment grown;
    if (!grown.allocate(segment.size * 2)) return nullptr;
    for (size_t i = 0; i < segment.size; ++i) {
      if (segment.marks[i] != 0) grown.place(segment.slots[i]);
    }
    grown.count = segment.count;
    segment.release();
    segment = grown;
    return find(f);
  }

 private:
  // 64 tables, picked by a fingerprint's top bits, each growing on its own: growing copies one of them at a time,
  // so the peak is the table plus 1/64 of it, not the table and its double at once. Each probes with marks
  // (findMarked), kept after its slots in the same pages.
  static constexpr int SEGMENT_BITS = 6;
  struct Segment {
    FingerprintSlot* slots = nullptr;
    uint8_t* marks = nullptr;  // after the slots, in the same pages
    size_t size = 0;
    size_t count = 0;

    bool allocate(size_t slotCount) {
      void* pages = zeroedPages(slotCount * (sizeof(FingerprintSlot) + 1));
      if (pages == nullptr) return false;
      slots = static_cast<FingerprintSlot*>(pages);
      marks = reinterpret_cast<uint8_t*>(slots + slotCount);
      size = slotCount;
      return true;
    }
    void release() { releasePages(slots, size * (sizeof(FingerprintSlot) + 1)); }
    // Puts `entry` (not in the segment) in the first empty slot of its probe.
    FingerprintSlot* place(const FingerprintSlot& entry) {
      FingerprintSlot* slot = &slots[claimMarked(marks, size - 1, entry.a)];
      *slot = entry;
      return slot;
    }
  };
  Segment segments_[1 << SEGMENT_BITS];
};

// The UTF-16 code units of valid UTF-8: its bytes that start a character, plus one for each four-byte character (a
// surrogate pair). Sixteen ASCII bytes a step where SSE2 is there (most values are ASCII).
inline uint32_t utf16Units(const uint8_t* bytes, size_t n) {
  uint32_t units = 0;
  size_t k = 0;
#ifdef __SSE2__
  for (; k + 16 <= n; k += 16) {
    if (_mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + k))) != 0) break;
    units += 16;
  }
#endif
  for (; k < n; ++k) units += ((bytes[k] & 0xc0) != 0x80) + (bytes[k] >= 0xf0);
  return units;
}

// ---------------------------------------------------------------------------------------------------------------
// The rows being written: a byte buffer whose appends are inlined. std::string's are calls into libstdc++ (its
// _M_append was 3 % of the main thread's instructions on the all-unique corpus, issue 12), and a row is a dozen
// appends. Only what the engine uses of std::string's interface, with its meaning.

class Bytes {
 public:
  Bytes() = default;
  Bytes(const Bytes&) = delete;
  Bytes& operator=(const Bytes&) = delete;
  ~Bytes() { std::free(data_); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  const char* data() const { return data_; }
  void clear() { size_ = 0; }
  void swap(Bytes& other) {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
  }
  // Frees the memory (after a part whose rows made it large).
  void release() {
    std::free(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
  }
  void push_back(char c) {
    if (size_ == capacity_) grow(1);
    data_[size_++] = c;
  }
  void append(const char* s, size_t n) {
    if (n > capacity_ - size_) grow(n);
    std::memcpy(data_ + size_, s, n);
    size_ += n;
  }
  // A string literal: its length is known at compile time, and so is the copy.
  template <size_t N>
  void append(const char (&s)[N]) {
    append(s, N - 1);
  }
  void append(const std::string& s) { append(s.data(), s.size()); }
  // `n` zero bytes.
  void appendZeros(size_t n) {
    if (n > capacity_ - size_) grow(n);
    std::memset(data_ + size_, 0, n);
    size_ += n;
  }
  // Up to `n` bytes of `s` from `at` (std::string::append's clamp: npos is the rest).
  void append(const std::string& s, size_t at, size_t n) { append(s.data() + at, n < s.size() - at ? n : s.size() - at); }

 private:
  void grow(size_t n) {
    size_t want = capacity_ * 2 > size_ + n ? capacity_ * 2 : size_ + n;
    if (want < 4096) want = 4096;
    char* grown = static_cast<char*>(std::realloc(data_, want));
    // As std::string does in a build without exceptions (node-gyp's): a part's rows are a few MB at most.
    if (grown == nullptr) std::abort();
    data_ = grown;
    capacity_ = want;
  }
  char* data_ = nullptr;
  size_t size_ = 0, capacity_ = 0;
};

// ---------------------------------------------------------------------------------------------------------------
// Cells (src/io/writers.ts csvCell and jsonCell, src/io/csv-safe.ts safeCell), into a std::string or Bytes

// Whether a CSV cell must be quoted: it holds a quote, a comma or a line end. Sixteen bytes a step where SSE2 is
// there: every row has two cells of tens of bytes, and a byte at a time this was 3 % of the main thread on the
// all-unique corpus (issue 12).
inline bool csvNeedsQuotes(const uint8_t* s, size_t n) {
  size_t i = 0;
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), comma = _mm_set1_epi8(','), lf = _mm_set1_epi8('\n'),
                cr = _mm_set1_epi8('\r');
  for (; i + 16 <= n; i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, comma)),
                               _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr)));
    if (_mm_movemask_epi8(hit) != 0) return true;
  }
#endif
  for (; i < n; ++i) {
    uint8_t c = s[i];
    if (c == '"' || c == ',' || c == '\n' || c == '\r') return true;
  }
  return false;
}

template <typename Out>
void appendCsvCell(Out& out, const uint8_t* s, size_t n) {
  bool formula = n > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r');
  bool quote = csvNeedsQuotes(s, n);
  if (!quote) {
    if (formula) out.push_back('\'');
    out.append(reinterpret_cast<const char*>(s), n);
    return;
  }
  out.push_back('"');
  if (formula) out.push_back('\'');
  for (size_t i = 0; i < n; ++i) {
    if (s[i] == '"') out.push_back('"');
    out.push_back(static_cast<char>(s[i]));
  }
  out.push_back('"');
}

// The inside of a JSON string (JSON.stringify's escapes); UTF-8 passes through (decoded input has no lone
// surrogates, the only other characters JSON.stringify escapes).
template <typename Out>
void appendJsonInner(Out& out, const uint8_t* s, size_t n) {
  static const char HEX_DIGITS[] = "0123456789abcdef";
  size_t from = 0;
  for (size_t i = 0; i < n; ++i) {
    uint8_t c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(reinterpret_cast<const char*>(s) + from, i - from);
    from = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        out.append("\\u00");
        out.push_back(HEX_DIGITS[c >> 4]);
        out.push_back(HEX_DIGITS[c & 15]);
    }
  }
  out.append(reinterpret_cast<const char*>(s) + from, n - from);
}

template <typename Out>
void appendJsonCell(Out& out, const uint8_t* s, size_t n) {
  out.push_back('"');
  appendJsonInner(out, s, n);
  out.push_back('"');
}

// ---------------------------------------------------------------------------------------------------------------
// The engine

// Bounds, as in src/occurrences.ts (MEMO_LIMIT) and src/extract/domain.ts (MAX_MEMO).
constexpr size_t MEMO_LIMIT = 100000;
// The memos of the domain-kind, top-level-label and IPv6 calls.
constexpr size_t CALL_MEMO_LIMIT = 100000;

// Domain kinds (src/extract/domain.ts DomainKind), and the flag src/native/engine.ts (nativeDomainKind) adds when
// screening has more to say of the name than "accepted as it is".
constexpr int KIND_NONE = 0, KIND_FILE_EXTENSION = 2, KIND_SOURCE_FILE = 3, KIND_SCREEN_IT = 4;

// What a row says of an accepted value that is written as it was found (most are): its type, whether it is
// allowlisted, its note. Few distinct ones (types x allowlisted x notes): a table of them, and a dedup entry refers
// to one by index.
struct Record {
  uint8_t type;
  uint8_t allowlisted;
  uint8_t note;  // index in Engine::notes (0: none)
};

// An observable whose text differs from the text found (screening lower-cased it, made it punycode, unwrapped it):
// its text is kept, in Engine::sideText_. Rare, so a per-value string is affordable there.
struct Side {
  uint32_t off;
  uint32_t len;
  uint8_t type;
  uint8_t allowlisted;
  uint8_t seen;
  uint8_t note;
};

struct Rejection {
  uint32_t headOff;
  uint32_t headLen;
  int32_t status;
};

struct Status {
  std::string text;
  std::string cell;  // as written in the Status cell
  double count = 0;  // occurrences in the current part
};

constexpr int32_t FAILED = INT32_MIN;
// The verdict of a value that gives no row (a link wrapper whose target has a row of its own).
constexpr int32_t SILENT = INT32_MIN + 1;
// The verdict of a value accepted as it was found: its dedup entry says the rest.
constexpr int32_t AS_FOUND = INT32_MIN + 2;

// A dedup entry's code: SEEN (a row of it was written) and SIDE flags, and an index in Engine::records_ (not SIDE)
// or Engine::sides_ (SIDE, whose own `seen` is the one used then).
constexpr uint32_t SEEN = 1, SIDE = 2;

// V8's longest string (String::kMaxLength on 64-bit): the JavaScript engine cannot read a longer line.
constexpr size_t MAX_STRING_LENGTH = 0x1fffffe8;

// Zero bytes around the text a Pass scans.
constexpr size_t PADDING = 16;

class Engine;

// A handle scope for the JavaScript values of one call back: without it they would pile up until the engine's
// function returns (a part can make thousands).
class Scope {
 public:
  explicit Scope(napi_env env) : env_(env) { napi_open_handle_scope(env_, &scope_); }
  ~Scope() { napi_close_handle_scope(env_, scope_); }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  napi_env env_;
  napi_handle_scope scope_;
};

// An edit found in a field: the span it replaces and the index of its replacement in REPLACEMENTS.
struct Found {
  long start, end;
  int replacement;
};

// Where each byte of a refanged text came from (src/extract/refang.ts OffsetMap): per edit, where its replacement
// starts in the refanged text, its length, and the span of the original it replaced.
struct Edit {
  long refangedStart;
  long replacementLength;
  long originalStart;
  long originalEnd;
};

struct Pass {
  Engine* engine;
  const uint8_t* text;  // the refanged text
  int length;
  int emitted;
  const uint8_t* original;  // the field as written; == text when nothing was refanged
  const std::vector<Edit>* edits;  // null when nothing was refanged
  // Reads 0 outside the text: `text` has PADDING zero bytes on each side (see Engine::field), and no read here
  // strays further than a few bytes past either end (each call site is bounded by the length or a bounded offset).
  int at(long index) const { return text[index]; }
  int cls(long index) const { return CLASS[at(index)]; }

  // The offset in the original text of refanged offset k (OffsetMap.original).
  long originalAt(long k) const {
    if (edits == nullptr) return k;
    long low = 0, high = static_cast<long>(edits->size()) - 1, found = -1;
    while (low <= high) {
      long middle = (low + high) >> 1;
      if ((*edits)[static_cast<size_t>(middle)].refangedStart <= k) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    if (found == -1) return k;
    const Edit& edit = (*edits)[static_cast<size_t>(found)];
    long after = edit.refangedStart + edit.replacementLength;
    if (k < after) return edit.originalStart;
    return edit.originalEnd + (k - after);
  }
};

class Engine {
 public:
  bool csv = true;
  bool hostsAsDns = false;
  bool hasAllowlist = true;
  // Whether take() lists the part's first sightings (the observables whose Valid row it holds), for a caller that
  // looks them up (create's option `sightings`).
  bool keepSightings = false;
  // Per first sighting: its type, its note's index, its text's length (4 bytes), then its text.
  std::string sightings;
  double sightingCount = 0;
  napi_env env = nullptr;
  napi_ref screenFn = nullptr, extractFn = nullptr, domainFn = nullptr, ipv6Fn = nullptr, tldFn = nullptr,
           hashKeyFn = nullptr;
  bool failed = false;
  // Set by the scan while it emits a dns candidate whose domain kind said nothing is left to screen (see resolve).
  bool vouched = false;
  // Note column texts (ScreenNote in src/screen.ts); the first is none.
  std::vector<std::string> notes{std::string()};

  Bytes out;
  std::string indexCell;
  std::string fieldCell;
  std::vector<std::string> fieldCells;
  std::vector<Found> edits_;
  std::vector<Edit> map_;
  Bytes refanged_;
  Bytes padded_;
  // Scratch space of the scan (src/extract/index.ts allocates these strings): kept to spare an allocation each.
  std::string scratchHash, scratchName, scratchUrl, scratchHost, scratchCanonical;
  double records = 0, occurrences = 0, valid = 0, duplicates = 0, allowlisted = 0;
  std::vector<Status> statuses;
  // The statuses counted since the last take, in the order first met.
  std::vector<int32_t> usedStatuses;

  void resetCounts() {
    records = occurrences = valid = duplicates = allowlisted = 0;
    for (int32_t id : usedStatuses) statuses[static_cast<size_t>(id)].count = 0;
    usedStatuses.clear();
  }

  void setIndex(const uint8_t* s, size_t n) {
    indexCell.clear();
    if (csv) appendCsvCell(indexCell, s, n);
    else appendJsonCell(indexCell, s, n);
  }

  // A line number as its SourceIndex cell: digits need no CSV quoting; JSON quotes them (it is a string there).
  void setIndexNumber(double number) {
    char digits[24];
    char* end = digits + sizeof digits;
    char* start = end;
    uint64_t value = static_cast<uint64_t>(number);
    do {
      *--start = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    indexCell.clear();
    if (!csv) indexCell.push_back('"');
    indexCell.append(start, static_cast<size_t>(end - start));
    if (!csv) indexCell.push_back('"');
  }

  // One field's occurrences, in text order.
  void field(const uint8_t* s, int n);

  // One occurrence: its row now when its verdict is known (a dedup entry or a memo entry), else later, when the
  // open batch of first sightings has been screened (see flush).
  void occurrence(uint8_t type, const uint8_t* value, size_t valueLength, const uint8_t* original, size_t originalLength) {
    // After a failed call nothing more is written: the JavaScript engine stops at the occurrence that failed.
    if (failed) return;
    Fingerprint f = fingerprintOf(type, value, valueLength);
    FingerprintSlot* entry = seen_.find(f);
    int32_t id = AS_FOUND;
    if (entry != nullptr) {
      if ((entry->code & SIDE) != 0) id = static_cast<int32_t>(entry->code >> 2);
    } else {
      Slot* memo = memo_.find(f.a, type, value, valueLength);
      if (memo != nullptr) {
        id = memo->value;
      } else if (batch_.empty() && type == DNS && !hasAllowlist && vouched) {
        // An extracted dns candidate is a lower-case public domain without a trailing dot (extraction tested it
        // with the same domain kind screening uses), which screenDns (src/screen.ts) accepts as it is: only the
        // allowlist could still say otherwise. A quarter of the first sightings in logs, spared screening. Only a
        // name the scan found itself, whose domain kind said that screening has nothing more to say (`vouched`);
        // with a batch open it waits in the batch (unscreened), so that its row keeps its place in the order of
        // first sightings.
        asFound(f, DNS, false, 0);
        entry = seen_.find(f);
      } else {
        defer(type, value, valueLength, original, originalLength, f);
        return;
      }
    }
    if (id == SILENT) return;
    row(id, entry, value, valueLength, original, originalLength);
  }

  // The row of an occurrence whose verdict is `id` (AS_FOUND: its dedup entry `entry` says the rest).
  void row(int32_t id, FingerprintSlot* entry, const uint8_t* value, size_t valueLength, const uint8_t* original,
           size_t originalLength) {
    // An entry made as found in a batch may have become a side entry later in the same batch.
    if (id == AS_FOUND && (entry->code & SIDE) != 0) id = static_cast<int32_t>(entry->code >> 2);
    occurrences++;
    const std::string* note = &notes[0];
    if (id == AS_FOUND || id >= 0) {
      // The observable: as found (its record), or a side entry's text.
      const uint8_t* key = value;
      size_t keyLength = valueLength;
      uint8_t observableType, noteId;
      bool isAllowlisted, first;
      if (id == AS_FOUND) {
        const Record& r = records_[entry->code >> 2];
        observableType = r.type;
        isAllowlisted = r.allowlisted != 0;
        noteId = r.note;
        first = (entry->code & SEEN) == 0;
        entry->code |= SEEN;
      } else {
        Side& side = sides_[static_cast<size_t>(id)];
        key = reinterpret_cast<const uint8_t*>(sideText_.data()) + side.off;
        keyLength = side.len;
        observableType = side.type;
        isAllowlisted = side.allowlisted != 0;
        noteId = side.note;
        first = side.seen == 0;
        side.seen = 1;
      }
      note = &notes[noteId];
      if (csv) {
        appendCsvCell(out, key, keyLength);
        out.push_back(',');
        out.append(TYPE_NAMES[observableType]);
        out.push_back(',');
      } else {
        out.append("{\"Observable\":");
        appendJsonCell(out, key, keyLength);
        out.append(",\"IoCType\":\"");
        out.append(TYPE_NAMES[observableType]);
        out.append("\",\"Status\":\"");
      }
      // An allowlisted observable is Allowlisted at every occurrence (its first included).
      if (isAllowlisted) {
        out.append("Allowlisted");
        allowlisted++;
      } else if (!first) {
        out.append("Duplicate");
        duplicates++;
      } else {
        out.append("Valid");
        valid++;
        if (keepSightings) {
          uint32_t length = static_cast<uint32_t>(keyLength);
          sightings.push_back(static_cast<char>(observableType));
          sightings.push_back(static_cast<char>(noteId));
          sightings.append(reinterpret_cast<const char*>(&length), 4);
          sightings.append(reinterpret_cast<const char*>(key), keyLength);
          sightingCount++;
        }
      }
    } else {
      Rejection& r = rejections_[static_cast<size_t>(-id - 1)];
      out.append(rejectionHeads_, r.headOff, r.headLen);
      Status& status = statuses[static_cast<size_t>(r.status)];
      out.append(status.cell);
      if (status.count++ == 0) usedStatuses.push_back(r.status);
    }
    if (csv) {
      out.push_back(',');
      out.append(indexCell);
      out.push_back(',');
      out.append(fieldCell);
      out.push_back(',');
      appendCsvCell(out, original, originalLength);
      out.push_back(',');
      if (!note->empty()) out.append(*note);
      out.push_back('\n');
    } else {
      out.append("\",\"SourceIndex\":");
      out.append(indexCell);
      out.append(",\"SourceField\":");
      out.append(fieldCell);
      out.append(",\"SourceText\":");
      appendJsonCell(out, original, originalLength);
      out.append(",\"Note\":\"");
      out.append(*note);
      out.append("\"}\n");
    }
  }

  // The kind of a lower-case domain name (src/extract/domain.ts publicDomainKind), memoised. A name whose last
  // label is no ICANN top-level domain is none, without a call (see tldMayBeIcann in src/extract/domain.ts):
  // most domain-shaped runs in logs are `report.pdf` or `287.93ms`, and a thousand last labels stand for them.
  int domainKind(const uint8_t* name, size_t n) {
    const uint8_t* label = name;
    for (size_t i = n; i > 0; --i) {
      if (name[i - 1] == '.') {
        label = name + i;
        break;
      }
    }
    if (!tldMayBeIcann(label, n - static_cast<size_t>(label - name))) return KIND_NONE;
    int32_t kind = KIND_NONE;
    memoised(domains_, domainFn, name, n, kind, [this](napi_value result, int32_t& value) {
      return napi_get_value_int32(env, result, &value) == napi_ok;
    });
    return kind;
  }

  // src/extract/context.ts isTellingHashKey, memoised: a handful of distinct keys stand for every keyed hash.
  bool isTellingHashKey(const uint8_t* key, size_t n) {
    int32_t telling = 0;
    memoised(hashKeys_, hashKeyFn, key, n, telling, [this](napi_value result, int32_t& value) {
      bool answer = false;
      napi_get_value_bool(env, result, &answer);
      value = answer ? 1 : 0;
      return true;
    });
    return telling != 0;
  }

  bool tldMayBeIcann(const uint8_t* label, size_t n) {
    int32_t may = 0;
    memoised(tlds_, tldFn, label, n, may, [this](napi_value result, int32_t& value) {
      bool answer = false;
      napi_get_value_bool(env, result, &answer);
      value = answer ? 1 : 0;
      return true;
    });
    return may != 0;
  }

  // The answer of a call back taking one string, memoised in `memo` (bounded: it starts over when full). `read`
  // turns the call's result into the number kept. False when the call or the memo failed (`value` untouched).
  template <typename Read>
  bool memoised(Table& memo, napi_ref fn, const uint8_t* key, size_t n, int32_t& value, Read read) {
    uint64_t hash = hashOf(0, key, n);
    Slot* slot = memo.find(hash, 0, key, n);
    if (slot != nullptr) {
      value = slot->value;
      return true;
    }
    int32_t answer = 0;
    {
      Scope scope(env);
      napi_value result;
      if (!call(fn, key, n, &result) || !read(result, answer)) return false;
    }
    if (memo.count() >= CALL_MEMO_LIMIT) memo.clear();
    memo.insert(hash, 0, key, n, answer);
    if (memo.full()) return tooMany();
    value = answer;
    return true;
  }

  // The canonical form of a valid IPv6 address, or false (src/extract/ip.ts isValidIpv6, canonicalIpv6), memoised.
  bool ipv6(const uint8_t* value, size_t n, std::string& canonical) {
    uint64_t hash = hashOf(0, value, n);
    Slot* slot = ipv6s_.find(hash, 0, value, n);
    if (slot == nullptr) {
      napi_valuetype kind;
      std::string text;
      {
        Scope scope(env);
        napi_value result;
        if (!call(ipv6Fn, value, n, &result)) return false;
        napi_typeof(env, result, &kind);
        if (kind == napi_string && !stringOf(result, text)) return false;
      }
      if (ipv6s_.count() >= CALL_MEMO_LIMIT) {
        ipv6s_.clear();
        ipv6Canonical_.clear();
      }
      int32_t index = -1;
      if (kind == napi_string) {
        index = static_cast<int32_t>(ipv6Canonical_.size());
        ipv6Canonical_.push_back(std::move(text));
      }
      ipv6s_.insert(hash, 0, value, n, index);
      if (ipv6s_.full()) return tooMany();
      if (index < 0) return false;
      canonical = ipv6Canonical_[static_cast<size_t>(index)];
      return true;
    }
    if (slot->value < 0) return false;
    canonical = ipv6Canonical_[static_cast<size_t>(slot->value)];
    return true;
  }

  bool stringOf(napi_value value, std::string& text) {
    size_t length = 0;
    if (napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok) return fail("expected a string");
    text.resize(length + 1);
    napi_get_value_string_utf8(env, value, &text[0], length + 1, &length);
    text.resize(length);
    return true;
  }

  // Fails the run when the dedup table cannot grow (its entry went in, over-full: the table is still sound).
  int32_t outOfMemory() {
    fail("ioc_extract: out of memory for the dedup table");
    return FAILED;
  }

  // Fails the run (false, for the callers' returns) when a table has no room left.
  bool tooMany() { return fail("ioc_extract: more than 4 GiB of distinct values for the native engine; run with IOC_ENRICH_ENGINE=js"); }

  bool fail(const char* message) {
    if (!failed) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (!pending) napi_throw_error(env, nullptr, message);
    }
    failed = true;
    return false;
  }

  // Calls `fn` with one string argument.
  bool call(napi_ref fn, const uint8_t* bytes, size_t n, napi_value* result) {
    if (failed) return false;
    napi_value function;
    napi_value global;
    napi_get_reference_value(env, fn, &function);
    napi_get_undefined(env, &global);
    napi_value arg;
    if (napi_create_string_utf8(env, reinterpret_cast<const char*>(bytes), n, &arg) != napi_ok) return fail("ioc_extract: a value too long for a string");
    if (napi_call_function(env, global, function, 1, &arg, result) != napi_ok) {
      failed = true;
      return false;
    }
    return true;
  }

  // A field handed to src/extract/index.ts: [type, value, original, type, value, original, ...].
  void extractInJs(const uint8_t* s, int n) {
    Scope scope(env);
    napi_value result;
    if (!call(extractFn, s, static_cast<size_t>(n), &result)) return;
    uint32_t length = 0;
    napi_get_array_length(env, result, &length);
    std::string value;
    std::string original;
    for (uint32_t i = 0; i + 2 < length && !failed; i += 3) {
      Scope each(env);
      napi_value element;
      int32_t type = 0;
      napi_get_element(env, result, i, &element);
      napi_get_value_int32(env, element, &type);
      napi_get_element(env, result, i + 1, &element);
      if (!stringOf(element, value)) return;
      napi_get_element(env, result, i + 2, &element);
      if (!stringOf(element, original)) return;
      occurrence(static_cast<uint8_t>(type), reinterpret_cast<const uint8_t*>(value.data()), value.size(),
                 reinterpret_cast<const uint8_t*>(original.data()), original.size());
    }
  }

  // The index of a Note text in `notes` (a handful at most).
  uint8_t noteId(const std::string& text) {
    for (size_t i = 0; i < notes.size(); ++i) {
      if (notes[i] == text) return static_cast<uint8_t>(i);
    }
    if (notes.size() >= 255) return 0;
    notes.push_back(text);
    return static_cast<uint8_t>(notes.size() - 1);
  }

  // The id of a status text: a map, since a status can name its value (`Could not obtain scheme or host from
  // file:///x0`), so there can be as many as values (a list searched each time was quadratic: found in review).
  int32_t statusId(const std::string& text) {
    auto known = statusIds_.find(text);
    if (known != statusIds_.end()) return known->second;
    statusIds_.emplace(text, static_cast<int32_t>(statuses.size()));
    Status status;
    status.text = text;
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(text.data());
    if (csv) appendCsvCell(status.cell, bytes, text.size());
    else appendJsonInner(status.cell, bytes, text.size());
    statuses.push_back(std::move(status));
    return static_cast<int32_t>(statuses.size() - 1);
  }

 private:
  // Verdicts (src/occurrences.ts OccurrenceBuilder). `seen_` holds the dedup entries, one per distinct observable,
  // kept for the whole run: a fingerprint and a code (see FingerprintTable and SEEN, SIDE). `memo_` (bounded: it
  // starts over when full) holds what screening said of the other values: a spelling that normalises to an
  // observable (value: its index in sides_), a rejection (value < 0) or a value that gives no row (SILENT).
  FingerprintTable seen_;
  std::vector<Record> records_;
  std::vector<int32_t> recordIds_ = std::vector<int32_t>(8 * 2 * 256, -1);
  std::vector<Side> sides_;
  std::string sideText_;
  Table memo_;
  std::unordered_map<std::string, int32_t> statusIds_;
  std::vector<Rejection> rejections_;
  std::string rejectionHeads_;
  Table domains_;
  Table tlds_;
  Table hashKeys_;
  Table ipv6s_;
  std::vector<std::string> ipv6Canonical_;

  // The dedup entry of a value accepted as it was found (fingerprint `f`), made unless there is one.
  void asFound(const Fingerprint& f, uint8_t type, bool isAllowlisted, uint8_t note) {
    if (seen_.find(f) != nullptr) return;
    size_t key = static_cast<size_t>(type) | (isAllowlisted ? 8u : 0u) | (static_cast<size_t>(note) << 4);
    int32_t& record = recordIds_[key];
    if (record < 0) {
      record = static_cast<int32_t>(records_.size());
      records_.push_back(Record{type, static_cast<uint8_t>(isAllowlisted ? 1 : 0), note});
    }
    if (seen_.insert(f, static_cast<uint32_t>(record) << 2) == nullptr) outOfMemory();
  }

  // The side entry of an observable that differs from the text found (its own dedup entry says where it is); one
  // made as found before becomes a side entry (its text is at hand now), with what it was.
  int32_t side(uint8_t type, const uint8_t* value, size_t n, bool isAllowlisted, uint8_t note) {
    Fingerprint f = fingerprintOf(type, value, n);
    FingerprintSlot* entry = seen_.find(f);
    if (entry != nullptr && (entry->code & SIDE) != 0) return static_cast<int32_t>(entry->code >> 2);
    if (sideText_.size() + n > UINT32_MAX || sides_.size() >= (1u << 30)) {
      tooMany();
      return FAILED;
    }
    Side made{static_cast<uint32_t>(sideText_.size()), static_cast<uint32_t>(n), type,
              static_cast<uint8_t>(isAllowlisted ? 1 : 0), 0, note};
    if (entry != nullptr) {
      const Record& r = records_[entry->code >> 2];
      made.type = r.type;
      made.allowlisted = r.allowlisted;
      made.note = r.note;
      made.seen = (entry->code & SEEN) != 0 ? 1 : 0;
    }
    sideText_.append(reinterpret_cast<const char*>(value), n);
    int32_t id = static_cast<int32_t>(sides_.size());
    sides_.push_back(made);
    uint32_t code = (static_cast<uint32_t>(id) << 2) | SIDE;
    if (entry != nullptr) entry->code = code;
    else if (seen_.insert(f, code) == nullptr) return outOfMemory();
    return id;
  }

  // Memoises `id` (a side entry, a rejection or SILENT) under a value found (flush has made room).
  int32_t remember(uint8_t type, const uint8_t* value, size_t n, const Fingerprint& f, int32_t id) {
    Slot* known = memo_.find(f.a, type, value, n);
    if (known != nullptr) known->value = id;
    else memo_.insert(f.a, type, value, n, id);
    if (memo_.full()) {
      tooMany();
      return FAILED;
    }
    return id;
  }

  // The batch of first sightings (issue 12: one call across N-API per batch, not one per distinct value). A value
  // found without a dedup or memo entry joins the open batch (once: `batchIndex_` finds it again by fingerprint);
  // its occurrences' rows wait, each with its place in `out` and copies of what it needs. Rows of known values
  // are still written at once, between them: their verdicts cannot depend on the batch (a dedup entry is made
  // with its first row, and a vouched dns name waits in the batch while one is open). flush() screens the batch
  // in one call back, then writes the waiting rows into their places, in order. A batch is flushed when it holds
  // BATCH_LIMIT values or ROW_LIMIT rows, and at the end of every text()/records() call.
  static constexpr size_t BATCH_LIMIT = 4096, ROW_LIMIT = 32768;
  // How many values ahead their dedup entries are prefetched (see FingerprintTable::prefetch).
  static constexpr size_t PREFETCH_AHEAD = 8;
  struct BatchValue {
    Fingerprint f;
    uint32_t off, len;  // in pendingText_
    uint32_t slot;  // its slot in batchIndex_
    uint8_t type;
    uint8_t vouched;  // a dns name that needs no screening (see occurrence)
  };
  struct PendingRow {
    size_t at;  // where in `out` the row goes
    uint32_t item;
    uint32_t off;  // in pendingText_: the original text, then the index cell, then the field cell
    uint32_t originalLen, indexLen, fieldLen;
  };
  struct BatchSlot {
    uint64_t a;
    uint32_t b;
    uint32_t item;
  };
  std::vector<BatchValue> batch_;
  std::vector<PendingRow> pendingRows_;
  Bytes pendingText_;
  std::vector<BatchSlot> batchIndex_ = std::vector<BatchSlot>(BATCH_LIMIT * 2);
  std::vector<int32_t> verdicts_;
  Bytes tail_;  // the rows written before a flush (see flush)
  std::string joined_;  // the batch's values, for screening (see screenBatch)

  BatchSlot* batchSlot(const Fingerprint& f) {
    size_t mask = batchIndex_.size() - 1;
    size_t index = f.a & mask;
    while (batchIndex_[index].a != 0 && (batchIndex_[index].a != f.a || batchIndex_[index].b != f.b)) {
      index = (index + 1) & mask;
    }
    return &batchIndex_[index];
  }

  void defer(uint8_t type, const uint8_t* value, size_t n, const uint8_t* original, size_t originalLength,
             const Fingerprint& f) {
    BatchSlot* slot = batchSlot(f);
    if (slot->a == 0) {
      *slot = BatchSlot{f.a, f.b, static_cast<uint32_t>(batch_.size())};
      batch_.push_back(BatchValue{f, static_cast<uint32_t>(pendingText_.size()), static_cast<uint32_t>(n),
                                  static_cast<uint32_t>(slot - batchIndex_.data()), type,
                                  static_cast<uint8_t>(type == DNS && !hasAllowlist && vouched ? 1 : 0)});
      pendingText_.append(reinterpret_cast<const char*>(value), n);
    }
    pendingRows_.push_back(PendingRow{out.size(), slot->item, static_cast<uint32_t>(pendingText_.size()),
                                      static_cast<uint32_t>(originalLength), static_cast<uint32_t>(indexCell.size()),
                                      static_cast<uint32_t>(fieldCell.size())});
    pendingText_.append(reinterpret_cast<const char*>(original), originalLength);
    pendingText_.append(indexCell);
    pendingText_.append(fieldCell);
    if (batch_.size() >= BATCH_LIMIT || pendingRows_.size() >= ROW_LIMIT || pendingText_.size() > (64u << 20)) {
      flush();
    }
  }

 public:
  // Screens the open batch in one call back and writes its waiting rows (see above). After a failure (this
  // call's, or an earlier call back's, whose exception is pending) the rows before the failing occurrence are
  // written, and the exception is thrown again.
  void flush() {
    if (batch_.empty()) return;
    // An earlier call back's failure (the scan stopped there, after every waiting row): the batch is screened
    // still, and that exception thrown again after the rows.
    napi_value earlier = nullptr;
    if (failed) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) napi_get_and_clear_last_exception(env, &earlier);
      failed = false;
    }
    napi_value error = nullptr;
    napi_escapable_handle_scope scope;
    napi_open_escapable_handle_scope(env, &scope);
    size_t screened = screenBatch(error);  // the values screened before a failing one
    if (error != nullptr) napi_escape_handle(env, scope, error, &error);
    napi_close_escapable_handle_scope(env, scope);
    // The waiting rows into their places: the rows written so far become `tail_` (a swap, not a copy), and `out`
    // is written again from them: the rows before the first place, then each stretch up to a place and the waiting
    // row that goes there. (Moving what followed the first place aside and back copied most of a part's rows twice:
    // issue 12.)
    size_t from = pendingRows_.front().at;
    out.swap(tail_);
    out.clear();
    out.append(tail_.data(), from);
    std::string savedIndex, savedField;
    savedIndex.swap(indexCell);
    savedField.swap(fieldCell);
    bool stopped = false;
    // The dedup entries of the rows ahead are prefetched (see FingerprintTable::prefetch).
    auto prefetchRow = [&](size_t r) {
      const PendingRow& next = pendingRows_[r];
      if (next.item < screened && verdicts_[next.item] == AS_FOUND) seen_.prefetch(batch_[next.item].f);
    };
    for (size_t r = 0; r < pendingRows_.size() && r < PREFETCH_AHEAD; ++r) prefetchRow(r);
    for (size_t r = 0; r < pendingRows_.size(); ++r) {
      if (r + PREFETCH_AHEAD < pendingRows_.size()) prefetchRow(r + PREFETCH_AHEAD);
      const PendingRow& pending = pendingRows_[r];
      out.append(tail_.data() + from, pending.at - from);
      from = pending.at;
      if (pending.item >= screened) {
        stopped = true;
        break;
      }
      int32_t id = verdicts_[pending.item];
      if (id == SILENT) continue;
      const BatchValue& item = batch_[pending.item];
      const uint8_t* text = reinterpret_cast<const uint8_t*>(pendingText_.data());
      indexCell.assign(pendingText_.data() + pending.off + pending.originalLen, pending.indexLen);
      fieldCell.assign(pendingText_.data() + pending.off + pending.originalLen + pending.indexLen, pending.fieldLen);
      FingerprintSlot* entry = id == AS_FOUND ? seen_.find(item.f) : nullptr;
      row(id, entry, text + item.off, item.len, text + pending.off, pending.originalLen);
    }
    if (!stopped) out.append(tail_.data() + from, tail_.size() - from);
    indexCell.swap(savedIndex);
    fieldCell.swap(savedField);
    // Every slot in use belongs to this batch.
    for (const BatchValue& item : batch_) batchIndex_[item.slot].a = 0;
    batch_.clear();
    pendingRows_.clear();
    if (pendingText_.capacity() > (8u << 20)) pendingText_.release();
    else pendingText_.clear();
    if (tail_.capacity() > (8u << 20)) tail_.release();
    else tail_.clear();
    napi_value thrown = error != nullptr ? error : earlier;
    if (stopped || thrown != nullptr) {
      if (thrown != nullptr) napi_throw(env, thrown);
      failed = true;
    }
  }

 private:
  // Screens the batch's values in one call (screenBatch in src/native/engine.ts) and sets verdicts_; returns how
  // many were screened before one failed (all of them when none did; then `error` is what was thrown).
  size_t screenBatch(napi_value& error) {
    size_t count = batch_.size();
    verdicts_.assign(count, FAILED);
    // Room in the memo for the whole batch: it starts over first when it would overflow, so that no verdict
    // set below is forgotten before its rows are written. Rejections are only referred to by memo entries: they
    // go with them.
    if (memo_.count() + count > MEMO_LIMIT) {
      memo_.clear();
      rejections_.clear();
      rejectionHeads_.clear();
    }
    // The values go across as one string and where each ends in it, in UTF-16 code units (JavaScript's offsets):
    // one string made rather than one per value, each set into an array (callgrind: napi_set_element alone was 2 %
    // of `extract`'s instructions on the all-unique corpus). Every value is valid UTF-8 (ASCII from the scan, or
    // from a JavaScript string), so its code units are its bytes that start a character, plus one for each
    // four-byte character (a surrogate pair).
    napi_value function, global, args[4], result, buffer;
    void* data = nullptr;
    napi_create_arraybuffer(env, count, &data, &buffer);
    napi_create_typedarray(env, napi_uint8_array, count, buffer, 0, &args[0]);
    uint8_t* types = static_cast<uint8_t*>(data);
    void* endsData = nullptr;
    napi_create_arraybuffer(env, count * 4, &endsData, &buffer);
    napi_create_typedarray(env, napi_uint32_array, count, buffer, 0, &args[2]);
    uint32_t* ends = static_cast<uint32_t*>(endsData);
    const char* text = pendingText_.data();
    joined_.clear();
    uint32_t units = 0;
    for (size_t i = 0; i < count; ++i) {
      const BatchValue& item = batch_[i];
      // 255: a vouched dns name, not screened (an empty value).
      types[i] = item.vouched != 0 ? 255 : item.type;
      if (item.vouched == 0) {
        units += utf16Units(reinterpret_cast<const uint8_t*>(text) + item.off, item.len);
        joined_.append(text + item.off, item.len);
      }
      ends[i] = units;
    }
    if (napi_create_string_utf8(env, joined_.data(), joined_.size(), &args[1]) != napi_ok) {
      fail("ioc_extract: a batch of values too long for a string");
      napi_get_and_clear_last_exception(env, &error);
      return 0;
    }
    if (joined_.capacity() > (8u << 20)) std::string().swap(joined_);
    void* codesData = nullptr;
    napi_create_arraybuffer(env, count * 4, &codesData, &buffer);
    napi_create_typedarray(env, napi_int32_array, count, buffer, 0, &args[3]);
    napi_get_reference_value(env, screenFn, &function);
    napi_get_undefined(env, &global);
    if (napi_call_function(env, global, function, 4, args, &result) != napi_ok) {
      napi_get_and_clear_last_exception(env, &error);
      return 0;
    }
    // Per value, a code: 1 or 2, accepted as it is (2: allowlisted); 0, no row; 3, the next of `result`'s
    // entries says: [1, type index, observable, allowlisted, note] or [0, type name, value, status]; -1, not
    // screened: the call back threw at it (the last entry is the exception).
    const int32_t* codes = static_cast<const int32_t*>(codesData);
    uint32_t extra = 0;
    for (size_t i = 0; i < count && i < PREFETCH_AHEAD; ++i) seen_.prefetch(batch_[i].f);
    for (size_t i = 0; i < count; ++i) {
      if (i + PREFETCH_AHEAD < count) seen_.prefetch(batch_[i + PREFETCH_AHEAD].f);
      const BatchValue& item = batch_[i];
      const uint8_t* value = reinterpret_cast<const uint8_t*>(text) + item.off;
      int32_t code = codes[i];
      if (code < 0) {
        uint32_t length = 0;
        napi_get_array_length(env, result, &length);
        napi_get_element(env, result, length - 1, &error);
        return i;
      }
      int32_t id;
      if (item.vouched != 0 || code == 1 || code == 2) {
        asFound(item.f, item.type, code == 2, 0);
        id = AS_FOUND;
      } else if (code == 0) {
        id = remember(item.type, value, item.len, item.f, SILENT);
      } else {
        napi_value entry;
        napi_get_element(env, result, extra++, &entry);
        id = verdict(item.type, value, item.len, item.f, entry);
      }
      if (id == FAILED || failed) {
        napi_get_and_clear_last_exception(env, &error);
        return i;
      }
      verdicts_[i] = id;
    }
    return count;
  }

  // The verdict of screening's array for a value found (see screenBatch).
  int32_t verdict(uint8_t type, const uint8_t* value, size_t n, const Fingerprint& f, napi_value result) {
    napi_value element;
    int32_t accepted = 0;
    napi_get_element(env, result, 0, &element);
    napi_get_value_int32(env, element, &accepted);
    std::string outValue;
    napi_get_element(env, result, 2, &element);
    if (!stringOf(element, outValue)) return FAILED;
    const uint8_t* outBytes = reinterpret_cast<const uint8_t*>(outValue.data());
    if (accepted != 0) {
      int32_t outType = 0;
      bool isAllowlisted = false;
      napi_get_element(env, result, 1, &element);
      napi_get_value_int32(env, element, &outType);
      napi_get_element(env, result, 3, &element);
      napi_get_value_bool(env, element, &isAllowlisted);
      std::string noteText;
      napi_get_element(env, result, 4, &element);
      if (!stringOf(element, noteText)) return FAILED;
      bool same = outType == type && outValue.size() == n && std::memcmp(outBytes, value, n) == 0;
      if (same) {
        asFound(f, type, isAllowlisted, noteId(noteText));
        return AS_FOUND;
      }
      int32_t id = side(static_cast<uint8_t>(outType), outBytes, outValue.size(), isAllowlisted, noteId(noteText));
      if (id == FAILED) return FAILED;
      return remember(type, value, n, f, id);
    }
    std::string typeName;
    std::string status;
    napi_get_element(env, result, 1, &element);
    if (!stringOf(element, typeName)) return FAILED;
    napi_get_element(env, result, 3, &element);
    if (!stringOf(element, status)) return FAILED;
    if (rejectionHeads_.size() + outValue.size() * 2 + typeName.size() + 64 > UINT32_MAX) {
      tooMany();
      return FAILED;
    }
    Rejection rejection{static_cast<uint32_t>(rejectionHeads_.size()), 0, statusId(status)};
    if (csv) {
      appendCsvCell(rejectionHeads_, outBytes, outValue.size());
      rejectionHeads_.push_back(',');
      rejectionHeads_.append(typeName);
      rejectionHeads_.push_back(',');
    } else {
      rejectionHeads_.append("{\"Observable\":");
      appendJsonCell(rejectionHeads_, outBytes, outValue.size());
      rejectionHeads_.append(",\"IoCType\":\"");
      rejectionHeads_.append(typeName);
      rejectionHeads_.append("\",\"Status\":\"");
    }
    rejection.headLen = static_cast<uint32_t>(rejectionHeads_.size()) - rejection.headOff;
    rejections_.push_back(rejection);
    return remember(type, value, n, f, -static_cast<int32_t>(rejections_.size()));
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Refanging (src/extract/refang.ts): the edits of a field, in order.

// The forms and words below are string views of literals: their lengths are compile-time constants, where a strlen a
// call was (on the all-unique corpus, 9 M instructions of strlen in 12 MiB).
bool matchesAt(const Pass& p, long position, std::string_view form) {
  long length = static_cast<long>(form.size());
  if (position < 0 || position + length > p.length) return false;
  for (long i = 0; i < length; ++i) {
    if (lower(static_cast<uint8_t>(p.at(position + i))) != static_cast<uint8_t>(form[i])) return false;
  }
  return true;
}

struct SchemeForm {
  std::string_view form;
  int replacement;
};
struct BracketForm {
  std::string_view form;
  int replacement;
};
// REPLACEMENTS of src/extract/refang.ts, and the forms that map to them (same order: the first match wins). The last,
// "", removes an invisible character (U+00AD, U+200B, U+2060, U+FEFF): non-ASCII, so only JavaScript ever uses it.
constexpr std::string_view REPLACEMENTS[] = {".", "@", "://", ":", "//", "/", "http", "https", "ftp", "ftps", "sftp", ""};
constexpr SchemeForm SCHEME_FORMS[] = {{"h[tt]ps", 7}, {"h[tt]p", 6}, {"hxxps", 7}, {"hxtps", 7}, {"htxps", 7},
                                       {"h**ps", 7},   {"h__ps", 7},  {"meows", 7}, {"sfxp", 10}, {"fxps", 9},
                                       {"hxxp", 6},    {"hxtp", 6},   {"htxp", 6},  {"h**p", 6},  {"h__p", 6},
                                       {"meow", 6},    {"fxp", 8}};
constexpr BracketForm BRACKET_FORMS[] = {{".", 0},   {"dot", 0}, {"@", 1},  {"at", 1},
                                         {"://", 2}, {":", 3},   {"//", 4}, {"/", 5}};

bool isAlphanumeric(int code) { return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122); }

bool schemeBefore(const Pass& p, long position, long floor, Found& found) {
  int last = p.at(position - 1) | 0x20;
  int previous = p.at(position - 2) | 0x20;
  if (last == 0x70) {
    if (previous != 0x78 && previous != 0x74 && previous != 0x2a && previous != 0x7f && previous != 0x7d) return false;
  } else if (last == 0x73) {
    if (previous != 0x70) return false;
  } else if (last != 0x77 || previous != 0x6f) {
    return false;
  }
  if (matchesAt(p, position - 4, "http") || matchesAt(p, position - 5, "https") || matchesAt(p, position - 3, "ftp")) return false;
  for (const SchemeForm& form : SCHEME_FORMS) {
    long start = position - static_cast<long>(form.form.size());
    if (start < floor || !matchesAt(p, start, form.form)) continue;
    if (start > 0 && isAlphanumeric(p.at(start - 1))) continue;
    found = Found{start, position, form.replacement};
    return true;
  }
  return false;
}

bool bracketAt(const Pass& p, long position, Found& found) {
  int open = p.at(position);
  if (open != 91 && open != 40 && open != 123) return false;
  long inner = position + 1;
  int second = p.at(inner);
  bool doubled = second == 91 || second == 40 || second == 123;
  if (doubled) inner += 1;
  if (p.at(inner) == 32) inner += 1;
  int first = p.at(inner);
  if (!(first == 46 || first == 64 || first == 58 || first == 47 || (first | 0x20) == 0x64 || (first | 0x20) == 0x61)) return false;
  for (const BracketForm& form : BRACKET_FORMS) {
    if (!matchesAt(p, inner, form.form)) continue;
    long end = inner + static_cast<long>(form.form.size());
    if (p.at(end) == 32) end += 1;
    int close = p.at(end);
    if (close != 93 && close != 41 && close != 125) continue;
    end += 1;
    if (doubled) {
      close = p.at(end);
      if (close != 93 && close != 41 && close != 125) continue;
      end += 1;
    }
    long start = position;
    if (form.replacement == 0 && p.at(start - 1) == 32 && p.at(end) == 32) {
      start -= 1;
      end += 1;
    }
    found = Found{start, end, form.replacement};
    return true;
  }
  return false;
}

// Bytes that may start an edit, or that send the field to JavaScript (non-ASCII): these ASCII ones and every byte
// from 0x80 on.
constexpr char TRIGGER_BYTES[] = "[({:\\";
bool TRIGGER[256];

void initTriggers() {
  for (int code = 0x80; code < 256; ++code) TRIGGER[code] = true;
  for (const char* c = TRIGGER_BYTES; *c != 0; ++c) TRIGGER[static_cast<uint8_t>(*c)] = true;
}

// The first trigger at or after `from` in text[0, length), or `length`. Sixteen bytes a step where SSE2 is there
// (every x86-64): most bytes of a log line are no trigger, and this loop ran for every one of them, a byte at a
// time (4 % of `extract`'s time on the all-unique corpus).
inline long nextTrigger(const uint8_t* text, long from, long length) {
#ifdef __SSE2__
  static_assert(sizeof(TRIGGER_BYTES) == 6, "the vector test below compares with each of TRIGGER_BYTES");
  const __m128i t0 = _mm_set1_epi8(TRIGGER_BYTES[0]), t1 = _mm_set1_epi8(TRIGGER_BYTES[1]),
                t2 = _mm_set1_epi8(TRIGGER_BYTES[2]), t3 = _mm_set1_epi8(TRIGGER_BYTES[3]),
                t4 = _mm_set1_epi8(TRIGGER_BYTES[4]);
  for (; from + 16 <= length; from += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + from));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, t0), _mm_cmpeq_epi8(v, t1)),
                               _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, t2), _mm_cmpeq_epi8(v, t3)),
                                            _mm_cmpeq_epi8(v, t4)));
    // A byte's top bit: a match (0xff), or a byte from 0x80 on.
    int mask = _mm_movemask_epi8(_mm_or_si128(hit, v));
    if (mask != 0) return from + __builtin_ctz(static_cast<unsigned>(mask));
  }
#endif
  while (from < length && !TRIGGER[text[from]]) ++from;
  return from;
}

bool isHostCode(int code) { return isAlphanumeric(code) || code == 45 || code == 95; }

struct EscapedRun {
  long start, end;
  bool refang;
};

// src/extract/refang.ts escapedRun: the run of host characters and escaped dots around the `\.` at `position`.
EscapedRun escapedRun(const Pass& p, long position, long floor, bool schemeAtFloor) {
  long start = position;
  bool allEscaped = true, host = false;
  for (;;) {
    if (start <= floor) break;
    int code = p.at(start - 1);
    if (isHostCode(code)) {
      host = true;
      start -= 1;
    } else if (code == '.') {
      if (p.at(start - 2) == '\\' && start - 1 > floor) {
        start -= 2;
      } else {
        allEscaped = false;
        start -= 1;
      }
    } else {
      break;
    }
  }
  long end = position;
  for (;;) {
    int code = p.at(end);
    if (isHostCode(code)) {
      host = true;
      end += 1;
    } else if (code == '\\' && p.at(end + 1) == '.') {
      end += 2;
    } else if (code == '.') {
      allEscaped = false;
      end += 1;
    } else {
      break;
    }
  }
  bool touched = p.at(start - 1) == '\\' || p.at(end) == '\\';
  bool afterScheme = (schemeAtFloor && start == floor) || (p.at(start - 1) == '/' && p.at(start - 2) == '/');
  return EscapedRun{start, end, host && (afterScheme || (allEscaped && !touched))};
}

// The escaped dots of the run around the `\.` at `position` (findEdits in src/extract/refang.ts), into `edits` when
// they are refanged. Kept out of findEdits' loop, which runs for every byte of the input.
__attribute__((noinline)) void escapedDots(const Pass& p, long position, long& floor, long& escapedFloor,
                                           std::vector<Found>& edits) {
  bool scheme = !edits.empty() && edits.back().end == floor && edits.back().replacement == 2;
  EscapedRun run = escapedRun(p, position, floor, scheme);
  escapedFloor = run.end;
  if (!run.refang) return;
  for (long at = run.start; at < run.end; ++at) {
    if (p.at(at) == '\\') edits.push_back(Found{at, at + 2, 0});
  }
  floor = run.end;
}

// findEdits of src/extract/refang.ts: the edits that refang the field, in order and not overlapping. Returns false
// when the field has a non-ASCII byte (left to JavaScript, whose offsets count UTF-16 code units).
bool findEdits(const Pass& p, std::vector<Found>& edits) {
  edits.clear();
  long floor = 0;
  long escapedFloor = 0;
  Found found{0, 0, 0};
  for (long position = nextTrigger(p.text, 0, p.length); position < p.length;
       position = nextTrigger(p.text, position + 1, p.length)) {
    uint8_t code = p.text[position];
    if (code >= 0x80) return false;
    if (position < floor) continue;
    if (code == '\\') {
      if (position >= escapedFloor && p.at(position + 1) == '.') escapedDots(p, position, floor, escapedFloor, edits);
      continue;
    }
    if (code == ':') {
      if (schemeBefore(p, position, floor, found)) {
        edits.push_back(found);
        floor = found.end;
      }
      continue;
    }
    if (!bracketAt(p, position, found) || found.start < floor) continue;
    Found bracket = found;
    // A bracketed colon may follow a defanged scheme: `hxxps[:]//`.
    if ((bracket.replacement == 2 || bracket.replacement == 3) && schemeBefore(p, position, floor, found)) edits.push_back(found);
    edits.push_back(bracket);
    floor = bracket.end;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Extraction on refanged ASCII text: a port of src/extract/index.ts (see there for the rules and their reasons).

void emit(Pass& p, uint8_t type, const uint8_t* value, size_t valueLength, long start, long end) {
  p.emitted++;
  long from = p.originalAt(start);
  // src/extract/index.ts maps the end with OffsetMap.originalEnd, which differs from this only where characters
  // were removed right at the end: invisible ones, never in this engine's fields (ASCII; the rest go to JavaScript).
  long to = p.originalAt(end);
  p.engine->occurrence(type, value, valueLength, p.original + from, static_cast<size_t>(to - from));
}

// True when [start, end) of the refanged text was written differently (src/extract/index.ts wasDefanged).
bool wasDefanged(const Pass& p, long start, long end) {
  if (p.edits == nullptr) return false;
  long from = p.originalAt(start);
  long to = p.originalAt(end);
  return to - from != end - start || std::memcmp(p.original + from, p.text + start, static_cast<size_t>(end - start)) != 0;
}

// A lower-case copy of [start, end).
void lowered(const Pass& p, long start, long end, std::string& into) {
  into.resize(static_cast<size_t>(end - start));
  for (long i = start; i < end; ++i) into[static_cast<size_t>(i - start)] = static_cast<char>(lower(p.text[i]));
}

// src/extract/context.ts: what the scan passes to screening before a value (MAX_HASH_KEY, VERSION_PREFIX).
constexpr long MAX_HASH_KEY = 24;
const char* const VERSION_PREFIX = "version/";
constexpr int EQUALS = 61, BACKSLASH = 92;

bool isWordChar(int code) { return (CLASS[code] & ALNUM) != 0 || code == 95; }

// src/extract/index.ts hashKey: `key=` (lower case) appended to `into` when the hash at `start` follows `key=` and
// the key tells screening something.
void hashKey(const Pass& p, long start, std::string& into) {
  if (p.at(start - 1) != EQUALS) return;
  long keyStart = start - 1;
  while (keyStart > 0 && start - keyStart <= MAX_HASH_KEY + 1 && isWordChar(p.at(keyStart - 1))) keyStart -= 1;
  if (keyStart == start - 1 || isWordChar(p.at(keyStart - 1))) return;
  for (long i = keyStart; i < start - 1; ++i) into.push_back(static_cast<char>(lower(p.text[i])));
  if (!p.engine->isTellingHashKey(reinterpret_cast<const uint8_t*>(into.data()), into.size())) {
    into.clear();
    return;
  }
  into.push_back('=');
}

void scanHashes(Pass& p, long start, long end) {
  long index = start;
  std::string& value = p.engine->scratchHash;
  while (index < end) {
    while (index < end && (p.cls(index) & ALNUM) == 0) index += 1;
    long runStart = index;
    bool allHex = true;
    while (index < end) {
      int cls = p.cls(index);
      if ((cls & ALNUM) == 0) break;
      if ((cls & HEX) == 0) allHex = false;
      index += 1;
    }
    long length = index - runStart;
    int type = length == 32 ? MD5 : length == 40 ? SHA1 : length == 64 ? SHA256 : -1;
    if (allHex && type >= 0) {
      value.clear();
      hashKey(p, runStart, value);
      size_t keyLength = value.size();
      value.resize(keyLength + static_cast<size_t>(length));
      for (long i = runStart; i < index; ++i) value[keyLength + static_cast<size_t>(i - runStart)] = static_cast<char>(lower(p.text[i]));
      emit(p, static_cast<uint8_t>(type), reinterpret_cast<const uint8_t*>(value.data()), value.size(), runStart, index);
    }
  }
}

// src/extract/index.ts isDottedQuad, of digits and dots.
inline bool isDottedQuad(const Pass& p, long start, long end) {
  if (end - start > 15 || end - start < 7) return false;
  int parts = 0, digits = 0, part = 0;
  for (long index = start; index <= end; index += 1) {
    int code = index < end ? p.at(index) : DOT;
    if (code == DOT) {
      if (digits == 0 || part > 255) return false;
      parts += 1;
      digits = 0;
      part = 0;
    } else {
      digits += 1;
      part = part * 10 + code - 48;
      if (digits > 3) return false;
    }
  }
  return parts == 4;
}

// True when [start, end) holds only digits and dots (src/extract/index.ts digitsAndDots).
bool digitsAndDots(const Pass& p, long start, long end) {
  for (long i = start; i < end; ++i) {
    int code = p.at(i);
    if (code != DOT && (code < 48 || code > 57)) return false;
  }
  return true;
}

// True when `word` (lower case) ends just before `end` (src/extract/index.ts endsWithAt).
bool endsWithAt(const Pass& p, long end, std::string_view word) {
  long length = static_cast<long>(word.size());
  if (end < length) return false;
  for (long i = 0; i < length; ++i) {
    if ((p.at(end - length + i) | 0x20) != word[i]) return false;
  }
  return true;
}

bool startsWithAt(const Pass& p, long at, std::string_view word) {
  long length = static_cast<long>(word.size());
  if (at < 0 || at + length > p.length) return false;
  return std::memcmp(p.text + at, word.data(), static_cast<size_t>(length)) == 0;
}

constexpr long VERSION_CONTEXT = 64;

bool isVersionSeparator(int code) { return code == 32 || code == 9 || code == EQUALS || code == COLON || code == 34 || code == 39; }

// src/extract/index.ts isVersionContext.
bool isVersionContext(const Pass& p, long start) {
  int before = p.at(start - 1);
  if (before == SLASH) {
    long tokenStart = start - 1;
    bool lowerSeen = false;
    while (tokenStart > 0 && start - tokenStart < VERSION_CONTEXT) {
      int code = p.at(tokenStart - 1);
      if ((CLASS[code] & HOST) == 0 || code >= 128) break;
      if (code >= 97 && code <= 122) lowerSeen = true;
      tokenStart -= 1;
    }
    int previous = p.at(tokenStart - 1);
    return lowerSeen && (p.cls(tokenStart) & LETTER) != 0 && previous != SLASH && previous != BACKSLASH;
  }
  if (startsWithAt(p, start - 10, "Reader DC ") || startsWithAt(p, start - 11, "Acrobat DC ")) return true;
  long wordEnd = start;
  while (wordEnd > 0 && start - wordEnd < 4 && isVersionSeparator(p.at(wordEnd - 1))) wordEnd -= 1;
  if (wordEnd == start) return false;
  long wordStart = wordEnd;
  while (wordStart > 0 && wordEnd - wordStart < VERSION_CONTEXT && (p.cls(wordStart - 1) & LETTER) != 0) wordStart -= 1;
  long length = wordEnd - wordStart;
  if (length >= 7 && endsWithAt(p, wordEnd, "version")) return true;
  return (length == 3 && endsWithAt(p, wordEnd, "ver")) || (length == 5 && endsWithAt(p, wordEnd, "build"));
}

bool tryIpv4(Pass& p, long start, long end) {
  if (!isDottedQuad(p, start, end)) return false;
  if (start >= 2 && p.at(start - 1) == SLASH && p.at(end - 1) == 48 && p.at(end - 2) == DOT && p.at(end - 3) == 48 &&
      p.at(end - 4) == DOT && (p.cls(start - 2) & LETTER) != 0) {
    return false;
  }
  if (isVersionContext(p, start)) {
    std::string& value = p.engine->scratchHash;
    value.assign(VERSION_PREFIX);
    value.append(reinterpret_cast<const char*>(p.text) + start, static_cast<size_t>(end - start));
    emit(p, IPV4, reinterpret_cast<const uint8_t*>(value.data()), value.size(), start, end);
    return true;
  }
  emit(p, IPV4, p.text + start, static_cast<size_t>(end - start), start, end);
  return true;
}

void scanRangeParts(Pass& p, long start, long end) {
  long partStart = start;
  for (long index = start; index <= end; index += 1) {
    int code = index < end ? p.at(index) : 45;
    if (code != 45 && code != 95) continue;
    long from = partStart;
    long to = index;
    while (from < to && p.at(from) == DOT) from += 1;
    while (to > from && p.at(to - 1) == DOT) to -= 1;
    if (to - from >= 7) {
      bool digitsAndDots = true;
      for (long i = from; i < to; ++i) {
        int c = p.at(i);
        if (c != DOT && (c < 48 || c > 57)) digitsAndDots = false;
      }
      if (digitsAndDots) tryIpv4(p, from, to);
    }
    partStart = index + 1;
  }
}

bool hasHostSyntax(const Pass& p, long start, long end) {
  long labelStart = start;
  int labels = 0;
  bool letterInLabel = false;
  for (long index = start; index <= end; index += 1) {
    int code = index < end ? p.at(index) : DOT;
    if (code == DOT) {
      long length = index - labelStart;
      if (length == 0 || length > 63) return false;
      if (p.at(labelStart) == 45 || p.at(index - 1) == 45) return false;
      labels += 1;
      labelStart = index + 1;
      if (index == end) return labels > 1 && letterInLabel;
      letterInLabel = false;
    } else {
      int cls = CLASS[code];
      if ((cls & ALNUM) == 0 && code != 45) return false;
      if ((cls & LETTER) != 0) letterInLabel = true;
    }
  }
  return false;
}

bool isSpace(int code) { return code == 32 || code == 9; }

// src/extract/index.ts isOptionAt.
bool isOptionAt(const Pass& p, long at) {
  if (p.at(at) != 45) return false;
  int next = p.at(at + 1) == 45 ? p.at(at + 2) : p.at(at + 1);
  return (CLASS[next] & LETTER) != 0;
}

constexpr long FILE_CONTEXT = 256;

// src/extract/index.ts isFileContext.
bool isFileContext(const Pass& p, long start, long end) {
  int before = p.at(start - 1);
  if (before == SLASH || before == BACKSLASH) return true;
  long next = end;
  while (next < p.length && next - end < 8 && isSpace(p.at(next))) next += 1;
  if (next > end && isOptionAt(p, next)) return true;
  long previousEnd = start;
  while (previousEnd > 0 && start - previousEnd < 8 && isSpace(p.at(previousEnd - 1))) previousEnd -= 1;
  if (previousEnd == start) return false;
  long tokenStart = previousEnd;
  while (tokenStart > 0 && previousEnd - tokenStart < FILE_CONTEXT && !isSpace(p.at(tokenStart - 1))) tokenStart -= 1;
  return tokenStart < previousEnd && isOptionAt(p, tokenStart);
}

// A dns candidate the scan found, vouched for when its domain kind had nothing left to screen (Engine::resolve).
void emitDns(Pass& p, int kind, const uint8_t* name, size_t n, long start, long end) {
  p.engine->vouched = (kind & KIND_SCREEN_IT) == 0;
  emit(p, DNS, name, n, start, end);
  p.engine->vouched = false;
}

bool isDomainAt(Pass& p, long start, long end, long runEnd) {
  if (end - start < 3 || end - start > 253 || !hasHostSyntax(p, start, end)) return false;
  std::string& name = p.engine->scratchName;
  lowered(p, start, end, name);
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(name.data());
  int flags = p.engine->domainKind(bytes, name.size());
  int kind = flags & ~KIND_SCREEN_IT;
  if (p.engine->failed || kind == KIND_NONE) return false;
  int after = runEnd == end ? p.at(end) : DOT;
  if (after == 61) return false;
  if (kind == KIND_FILE_EXTENSION || kind == KIND_SOURCE_FILE) {
    bool port = after == COLON && (p.cls(end + 1) & DIGIT) != 0;
    bool host = port || name.compare(0, 4, "www.") == 0 || wasDefanged(p, start, end);
    if (!host && (kind == KIND_FILE_EXTENSION || isFileContext(p, start, runEnd))) return false;
  }
  emitDns(p, flags, bytes, name.size(), start, end);
  return true;
}

// What scanDottedRun asks of each byte of a run, as bits to OR together: a separator (`-`, `_`), or a byte that is
// neither a separator, a digit nor a dot. One table lookup a byte, where two to four compares were (issue 12: this
// loop was the engine's costliest on the all-unique corpus).
constexpr uint8_t RUN_SEPARATOR = 1, RUN_OTHER = 2;
uint8_t RUN_CLASS[256];

void initRunClasses() {
  for (int code = 0; code < 256; ++code) {
    if (code == 45 || code == 95) RUN_CLASS[code] = RUN_SEPARATOR;
    else if (code != DOT && (CLASS[code] & DIGIT) == 0) RUN_CLASS[code] = RUN_OTHER;
  }
}

void scanDottedRun(Pass& p, long runStart, long runEnd) {
  long start = runStart;
  long end = runEnd;
  while (start < end && p.at(start) == DOT) start += 1;
  while (end > start && p.at(end - 1) == DOT) end -= 1;
  uint8_t seen = 0;
  for (long index = start; index < end; index += 1) seen |= RUN_CLASS[p.text[index]];
  bool digitsAndDots = (seen & RUN_OTHER) == 0;
  bool separators = (seen & RUN_SEPARATOR) != 0;
  if (digitsAndDots && !separators) {
    tryIpv4(p, start, end);
    return;
  }
  if (!digitsAndDots && isDomainAt(p, start, end, runEnd)) return;
  if (separators) scanRangeParts(p, start, end);
  if (end - start >= 32) scanHashes(p, start, end);
}

long trimUrlEnd(const Pass& p, long start, long end) {
  int open = 0, close = 0, openSquare = 0, closeSquare = 0;
  for (long index = start; index < end; index += 1) {
    int code = p.at(index);
    if (code == 40) open += 1;
    else if (code == 41) close += 1;
    else if (code == 91) openSquare += 1;
    else if (code == 93) closeSquare += 1;
  }
  long stop = end;
  while (stop > start) {
    int code = p.at(stop - 1);
    if (code == 46 || code == 44 || code == 59 || code == 58 || code == 33 || code == 63 || code == 42) {
      stop -= 1;
    } else if (code == 41 && close > open) {
      close -= 1;
      stop -= 1;
    } else if (code == 93 && closeSquare > openSquare) {
      closeSquare -= 1;
      stop -= 1;
    } else {
      break;
    }
  }
  return stop;
}

bool isSchemeChar(int code, bool first) {
  bool letter = (code >= 97 && code <= 122) || (code >= 65 && code <= 90);
  if (first) return letter;
  return letter || (code >= 48 && code <= 57) || code == 43 || code == 45 || code == 46;
}

struct UrlParts {
  long separator, hostStart, hostEnd;
};

// src/extract/url.ts splitUrl, for a URL at [start, end) whose `://` is the first one from start.
bool splitUrl(const Pass& p, long start, long end, UrlParts& parts) {
  long separator = -1;
  for (long i = start; i + 2 < p.length; ++i) {
    if (p.text[i] == ':' && p.text[i + 1] == '/' && p.text[i + 2] == '/') {
      separator = i;
      break;
    }
  }
  if (separator <= start || separator >= end) return false;
  for (long index = start; index < separator; index += 1) {
    if (!isSchemeChar(p.at(index), index == start)) return false;
  }
  long authorityStart = separator + 3;
  long authorityEnd = authorityStart;
  long hostStart = authorityStart;
  while (authorityEnd < end) {
    int code = p.at(authorityEnd);
    if (code == 47 || code == 63 || code == 35) break;
    if (code == 64) hostStart = authorityEnd + 1;
    authorityEnd += 1;
  }
  long hostEnd = authorityEnd;
  bool bracketed = p.at(hostStart) == 91;
  for (long index = hostStart; index < authorityEnd; index += 1) {
    int code = p.at(index);
    if (bracketed ? code == 93 : code == 58) {
      hostEnd = bracketed ? index + 1 : index;
      break;
    }
  }
  parts.separator = separator;
  parts.hostStart = hostStart;
  parts.hostEnd = hostEnd;
  return true;
}

bool isUrlScheme(const Pass& p, long start, long end) {
  // src/extract/url.ts URL_SCHEMES.
  static constexpr std::string_view SCHEMES[] = {"http", "https", "ftp", "ftps", "sftp", "sftps", "telnet", "ldap", "file"};
  for (std::string_view scheme : SCHEMES) {
    if (static_cast<long>(scheme.size()) == end - start && matchesAt(p, start, scheme)) return true;
  }
  return false;
}

// src/extract/index.ts hasEmptyHost: an empty host read from the untrimmed authority, which rejects the URL whatever
// its end (the quadratic case it avoids: `http:///http:///…`).
bool hasEmptyHost(const Pass& p, long from) {
  long end = from;
  long hostStart = from;
  for (; end < p.length; end += 1) {
    int code = p.at(end);
    if ((CLASS[code] & URL_CHAR) == 0 || code == SLASH || code == 63 || code == 35) break;
    if (code == 64) hostStart = end + 1;
  }
  return hostStart == end || p.at(hostStart) == COLON;
}

// src/extract/index.ts startsWithFolded.
bool startsWithFolded(const Pass& p, long at, const char* word) {
  for (long i = 0; word[i] != 0; ++i) {
    if ((p.at(at + i) | 0x20) != word[i]) return false;
  }
  return true;
}

// src/extract/index.ts isEmbeddedUrlAt.
bool isEmbeddedUrlAt(const Pass& p, long at, long end) {
  if (!startsWithFolded(p, at, "http")) return false;
  long next = at + 4;
  if ((p.at(next) | 0x20) == 0x73) next += 1;
  if (p.at(next) == COLON) return next + 3 < end && startsWithFolded(p, next, "://");
  return next + 9 < end && startsWithFolded(p, next, "%3a%2f%2f");
}

// src/extract/index.ts scanEmbeddedUrls: the URLs in a URL's query, each a url candidate of its own.
void scanEmbeddedUrls(Pass& p, long query, long end) {
  for (long at = query; at < end && !p.engine->failed; at += 1) {
    if (p.at(at) != EQUALS || !isEmbeddedUrlAt(p, at + 1, end)) continue;
    long valueEnd = at + 1;
    while (valueEnd < end && p.at(valueEnd) != '&' && p.at(valueEnd) != '#') valueEnd += 1;
    emit(p, URL, p.text + at + 1, static_cast<size_t>(valueEnd - at - 1), at + 1, valueEnd);
    at = valueEnd;
  }
}

// src/extract/index.ts emitUrlHost: a URL's host as dns, ipv4 or ipv6 (urlHostsAsDns).
void emitUrlHost(Pass& p, long hostStart, long hostEnd) {
  if (p.at(hostStart) == 91) {
    if (p.at(hostEnd - 1) != 93 || hostEnd - hostStart < 3) return;
    std::string& canonical = p.engine->scratchCanonical;
    if (p.engine->ipv6(p.text + hostStart + 1, static_cast<size_t>(hostEnd - hostStart - 2), canonical)) {
      emit(p, IPV6, reinterpret_cast<const uint8_t*>(canonical.data()), canonical.size(), hostStart + 1, hostEnd - 1);
    }
    return;
  }
  if (digitsAndDots(p, hostStart, hostEnd) && isDottedQuad(p, hostStart, hostEnd)) {
    emit(p, IPV4, p.text + hostStart, static_cast<size_t>(hostEnd - hostStart), hostStart, hostEnd);
    return;
  }
  std::string& host = p.engine->scratchHost;
  lowered(p, hostStart, hostEnd, host);
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(host.data());
  // isPublicDomain: the whole of publicDomainKind's tests, including its length and label checks.
  int flags = p.engine->domainKind(bytes, host.size());
  if ((flags & ~KIND_SCREEN_IT) != KIND_NONE) emitDns(p, flags, bytes, host.size(), hostStart, hostEnd);
}

long scanUrl(Pass& p, long start, long colon) {
  if (hasEmptyHost(p, colon + 3) && !(colon - start == 4 && matchesAt(p, start, "file"))) return colon + 3;
  long end = colon + 3;
  while (end < p.length && (p.cls(end) & URL_CHAR) != 0) end += 1;
  // `](`: a Markdown link's text ends here and its target follows. Searched with memchr after the loop, as the
  // first `?` is: the same result as JavaScript's tests on the way, without a test per byte.
  for (const uint8_t* close = p.text + colon + 3;;) {
    close = static_cast<const uint8_t*>(std::memchr(close, ']', static_cast<size_t>(p.text + end - close)));
    if (close == nullptr) break;
    if (close[1] == '(') {
      end = close - p.text;
      break;
    }
    close += 1;
  }
  const void* mark = std::memchr(p.text + colon + 3, '?', static_cast<size_t>(end - colon - 3));
  long query = mark == nullptr ? -1 : static_cast<const uint8_t*>(mark) - p.text;
  end = trimUrlEnd(p, colon + 3, end);
  UrlParts parts;
  if (!splitUrl(p, start, end, parts)) return colon + 3;
  bool file = parts.separator - start == 4 && matchesAt(p, start, "file");
  if ((parts.hostEnd == parts.hostStart && !file) || end == colon + 3) return colon + 3;
  // The scheme and the host in lower case; userinfo, port, path, query and fragment as they are.
  std::string& url = p.engine->scratchUrl;
  url.assign(reinterpret_cast<const char*>(p.text) + start, static_cast<size_t>(end - start));
  for (long i = start; i < parts.separator; ++i) url[static_cast<size_t>(i - start)] = static_cast<char>(lower(p.text[i]));
  for (long i = parts.hostStart; i < parts.hostEnd; ++i) url[static_cast<size_t>(i - start)] = static_cast<char>(lower(p.text[i]));
  emit(p, URL, reinterpret_cast<const uint8_t*>(url.data()), url.size(), start, end);
  if (p.engine->hostsAsDns && !p.engine->failed) emitUrlHost(p, parts.hostStart, parts.hostEnd);
  if (query != -1) scanEmbeddedUrls(p, query, end);
  return end;
}

long scanIpv6(Pass& p, long colon) {
  long start = colon;
  while (start > 0 && colon - start < 4 && (p.cls(start - 1) & HEX) != 0) start -= 1;
  if (start > 0) {
    int before = p.at(start - 1);
    if (before == COLON || (CLASS[before] & HOST) != 0) return colon + 1;
  }
  long end = colon + 1;
  int colons = 1;
  long hexDigits = colon - start;
  bool doubleColon = false;
  while (end < p.length) {
    int code = p.at(end);
    int cls = CLASS[code];
    if ((cls & IPV6_CHAR) == 0) break;
    if (code == COLON) {
      colons += 1;
      if (p.at(end - 1) == COLON) doubleColon = true;
    } else if ((cls & HEX) != 0) {
      hexDigits += 1;
    }
    end += 1;
  }
  if (colons < 2 || hexDigits == 0 || (p.cls(end) & HOST) != 0) return colon + 1;
  if (colons < 6 && !doubleColon) return colon + 1;
  std::string& canonical = p.engine->scratchCanonical;
  for (long stop = end, trimmed = 0; stop > start && trimmed <= 2; stop -= 1, trimmed += 1) {
    if (stop - start <= 45) {
      if (p.engine->ipv6(p.text + start, static_cast<size_t>(stop - start), canonical)) {
        emit(p, IPV6, reinterpret_cast<const uint8_t*>(canonical.data()), canonical.size(), start, stop);
        return stop;
      }
      if (p.engine->failed) return p.length;
    }
    int last = p.at(stop - 1);
    if (last != DOT && last != COLON) break;
  }
  return colon + 1;
}

constexpr long HASH_PROBE = 32;

long scanHashProbe(Pass& p, long probe, long floor) {
  if ((p.cls(probe) & HEX) == 0) return probe;
  bool dotted = false;
  long start = probe;
  while (start > floor) {
    int code = p.at(start - 1);
    if ((CLASS[code] & HOST) == 0) break;
    if (code == DOT) dotted = true;
    start -= 1;
  }
  long end = probe + 1;
  while (end < p.length) {
    int code = p.at(end);
    if ((CLASS[code] & HOST) == 0) break;
    if (code == DOT) dotted = true;
    end += 1;
  }
  if (dotted || end - start < 32) return end;
  int before = p.emitted;
  scanHashes(p, start, end);
  return p.emitted > before ? -(end + 1) : end;
}

bool isSchemeSeparator(const Pass& p, long index) { return p.at(index) == COLON && p.at(index + 1) == SLASH && p.at(index + 2) == SLASH; }

long scanRunAround(Pass& p, long dot, long floor) {
  long runStart = dot;
  while (runStart > floor && (p.cls(runStart - 1) & HOST) != 0) runStart -= 1;
  long runEnd = dot + 1;
  while (runEnd < p.length && (p.cls(runEnd) & HOST) != 0) runEnd += 1;
  if (isSchemeSeparator(p, runEnd)) {
    long schemeStart = runEnd;
    while (schemeStart > runStart && (p.cls(schemeStart - 1) & LETTER) != 0) schemeStart -= 1;
    if (isUrlScheme(p, schemeStart, runEnd)) {
      if (schemeStart > runStart) scanDottedRun(p, runStart, schemeStart);
      return scanUrl(p, schemeStart, runEnd);
    }
  }
  scanDottedRun(p, runStart, runEnd);
  return runEnd;
}

long scanColon(Pass& p, long colon, long floor) {
  if (isSchemeSeparator(p, colon)) {
    long schemeStart = colon;
    while (schemeStart > floor && (p.cls(schemeStart - 1) & LETTER) != 0) schemeStart -= 1;
    bool glued = schemeStart > 0 && (p.cls(schemeStart - 1) & HOST) != 0;
    if (!glued && schemeStart < colon && isUrlScheme(p, schemeStart, colon)) return scanUrl(p, schemeStart, colon);
    return colon + 1;
  }
  return scanIpv6(p, colon);
}

// The first `.` or `:` at or after `from`, or the text's length: the two bytes the scan stops at (a dotted run, a
// scheme or an IPv6 address). Sixteen bytes a step where SSE2 is there: the text has PADDING zero bytes after it,
// so a step that starts inside it reads no further. One search for both bytes, where two memchr streams were.
inline long nextDotOrColon(const Pass& p, long from) {
  static_assert(PADDING >= 16, "a step reads sixteen bytes from a position inside the text");
#ifdef __SSE2__
  const __m128i dot = _mm_set1_epi8('.'), colon = _mm_set1_epi8(':');
  for (; from < p.length; from += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p.text + from));
    int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, dot), _mm_cmpeq_epi8(v, colon)));
    if (mask != 0) return from + __builtin_ctz(static_cast<unsigned>(mask));
  }
  return p.length;
#else
  while (from < p.length && p.text[from] != DOT && p.text[from] != COLON) ++from;
  return from < p.length ? from : p.length;
#endif
}

void extract(Pass& p) {
  long length = p.length;
  long floor = 0;
  // The next `.` or `:` (the two streams of src/extract/index.ts's scan, merged: whichever comes first).
  long next = nextDotOrColon(p, 0);
  long nextProbe = HASH_PROBE - 1;
  while (!p.engine->failed) {
    if (next < floor) next = nextDotOrColon(p, floor);
    if (nextProbe < floor + HASH_PROBE - 1) nextProbe = floor + HASH_PROBE - 1;
    bool dot = next < length && p.text[next] == DOT;
    if (dot && next < nextProbe) {
      floor = scanRunAround(p, next, floor);
      next = nextDotOrColon(p, floor > next + 1 ? floor : next + 1);
    } else if (!dot && next < length && next <= nextProbe) {
      long colon = next;
      long resume = scanColon(p, colon, floor);
      if (resume > colon + 1) floor = resume;
      next = nextDotOrColon(p, colon + 1);
    } else if (nextProbe < length) {
      long end = scanHashProbe(p, nextProbe, floor);
      if (end < 0) {
        end = -end - 1;
        floor = end;
      }
      nextProbe = end + HASH_PROBE;
    } else {
      break;
    }
  }
}

void Engine::field(const uint8_t* s, int n) {
  if (n == 0 || failed) return;
  // A padded copy (see Pass::at): the scan reads a few bytes around its positions without a bounds test each.
  padded_.clear();
  padded_.appendZeros(PADDING);
  padded_.append(reinterpret_cast<const char*>(s), static_cast<size_t>(n));
  padded_.appendZeros(PADDING);
  const uint8_t* text = reinterpret_cast<const uint8_t*>(padded_.data()) + PADDING;
  Pass p{this, text, n, 0, text, nullptr};
  if (!findEdits(p, edits_)) {
    extractInJs(s, n);
    return;
  }
  if (edits_.empty()) {
    extract(p);
    return;
  }
  // refangWithMap: the refanged text and where its bytes came from.
  refanged_.clear();
  refanged_.appendZeros(PADDING);
  s = text;
  map_.clear();
  long original = 0;
  for (const Found& edit : edits_) {
    refanged_.append(reinterpret_cast<const char*>(s) + original, static_cast<size_t>(edit.start - original));
    std::string_view replacement = REPLACEMENTS[edit.replacement];
    long length = static_cast<long>(replacement.size());
    map_.push_back(Edit{static_cast<long>(refanged_.size() - PADDING), length, edit.start, edit.end});
    refanged_.append(replacement.data(), replacement.size());
    original = edit.end;
  }
  refanged_.append(reinterpret_cast<const char*>(s) + original, static_cast<size_t>(n - original));
  int length = static_cast<int>(refanged_.size() - PADDING);
  refanged_.appendZeros(PADDING);
  Pass refangedPass{this, reinterpret_cast<const uint8_t*>(refanged_.data()) + PADDING, length, 0, s, &map_};
  extract(refangedPass);
}

// ---------------------------------------------------------------------------------------------------------------
// Input: lines of text (src/io/line-splitter.ts and the text reader of src/io/readers.ts)

// The lines of one part, each one record with one field; returns the 0-based number of a line longer than
// `maxBytes` (where the JavaScript reader fails, after the lines before it), or -1.
double textPart(Engine& engine, const uint8_t* bytes, size_t n, double startLine, double maxBytes) {
  engine.fieldCell = engine.csv ? "" : "\"\"";
  size_t start = 0;
  double line = startLine;
  while (start < n && !engine.failed) {
    const void* newline = std::memchr(bytes + start, '\n', n - start);
    size_t end = newline == nullptr ? n : static_cast<size_t>(static_cast<const uint8_t*>(newline) - bytes);
    if (static_cast<double>(end - start) > maxBytes) return line;
    // The JavaScript reader cannot make a string of such a line (V8's limit) and fails: so does this engine.
    if (end - start > MAX_STRING_LENGTH) {
      engine.fail("Cannot create a string longer than 0x1fffffe8 characters");
      return -1;
    }
    size_t from = start;
    size_t to = end;
    if (line == 0 && to - from >= 3 && bytes[from] == 0xef && bytes[from + 1] == 0xbb && bytes[from + 2] == 0xbf) from += 3;
    if (to > from && bytes[to - 1] == '\r') to -= 1;
    engine.records++;
    if (to > from) {
      engine.setIndexNumber(line);
      engine.field(bytes + from, static_cast<int>(to - from));
    }
    line += 1;
    start = end + 1;
  }
  return -1;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// The module's functions (see src/native/engine.ts for their JavaScript side)

namespace {

bool argsOf(napi_env env, napi_callback_info info, size_t expected, napi_value* args) {
  size_t count = expected;
  napi_get_cb_info(env, info, &count, args, nullptr, nullptr);
  if (count < expected) {
    napi_throw_type_error(env, nullptr, "ioc_extract: too few arguments");
    return false;
  }
  return true;
}

Engine* engineOf(napi_env env, napi_value value) {
  void* data = nullptr;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == nullptr) {
    napi_throw_type_error(env, nullptr, "ioc_extract: not an engine");
    return nullptr;
  }
  Engine* engine = static_cast<Engine*>(data);
  engine->env = env;
  engine->failed = false;
  return engine;
}

// The data and element count of a typed array of the given type; null (with a TypeError thrown) otherwise.
void* typedArray(napi_env env, napi_value value, napi_typedarray_type expected, size_t* length, const char* message) {
  napi_typedarray_type type;
  void* data = nullptr;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, value, &type, length, &data, &buffer, &offset) != napi_ok || type != expected) {
    napi_throw_type_error(env, nullptr, message);
    return nullptr;
  }
  // An empty array may have no data pointer: any non-null one will do, nothing is read.
  return data == nullptr ? static_cast<void*>(length) : data;
}

bool flag(napi_env env, napi_value object, const char* name) {
  napi_value value;
  bool result = false;
  if (napi_get_named_property(env, object, name, &value) == napi_ok) napi_get_value_bool(env, value, &result);
  return result;
}

// create({ csv, urlHostsAsDns, allowlist, sightings }, screenBatch, extract, domainKind, ipv6, tldMayBeIcann, isTellingHashKey)
// -> engine
napi_value Create(napi_env env, napi_callback_info info) {
  napi_value args[7];
  if (!argsOf(env, info, 7, args)) return nullptr;
  Engine* engine = new Engine();
  engine->env = env;
  engine->csv = flag(env, args[0], "csv");
  engine->hostsAsDns = flag(env, args[0], "urlHostsAsDns");
  engine->hasAllowlist = flag(env, args[0], "allowlist");
  engine->keepSightings = flag(env, args[0], "sightings");
  napi_create_reference(env, args[1], 1, &engine->screenFn);
  napi_create_reference(env, args[2], 1, &engine->extractFn);
  napi_create_reference(env, args[3], 1, &engine->domainFn);
  napi_create_reference(env, args[4], 1, &engine->ipv6Fn);
  napi_create_reference(env, args[5], 1, &engine->tldFn);
  napi_create_reference(env, args[6], 1, &engine->hashKeyFn);
  napi_value result;
  napi_create_external(
      env, engine,
      [](napi_env finalizeEnv, void* data, void*) {
        Engine* dying = static_cast<Engine*>(data);
        napi_delete_reference(finalizeEnv, dying->screenFn);
        napi_delete_reference(finalizeEnv, dying->extractFn);
        napi_delete_reference(finalizeEnv, dying->domainFn);
        napi_delete_reference(finalizeEnv, dying->ipv6Fn);
        napi_delete_reference(finalizeEnv, dying->tldFn);
        napi_delete_reference(finalizeEnv, dying->hashKeyFn);
        delete dying;
      },
      nullptr, &result);
  return result;
}

// text(engine, bytes, startLine, maxBytes) -> the 0-based number of an over-long line, or -1
napi_value Text(napi_env env, napi_callback_info info) {
  napi_value args[4];
  if (!argsOf(env, info, 4, args)) return nullptr;
  Engine* engine = engineOf(env, args[0]);
  if (engine == nullptr) return nullptr;
  size_t length = 0;
  void* data = typedArray(env, args[1], napi_uint8_array, &length, "ioc_extract: bytes must be a Uint8Array");
  if (data == nullptr) return nullptr;
  double startLine = 0;
  double maxBytes = 0;
  napi_get_value_double(env, args[2], &startLine);
  napi_get_value_double(env, args[3], &maxBytes);
  double errorLine = textPart(*engine, static_cast<const uint8_t*>(data), length, startLine, maxBytes);
  engine->flush();
  if (engine->failed) return nullptr;
  napi_value result;
  napi_create_double(env, errorLine, &result);
  return result;
}

// column(engine, cell): the SourceField cell of the next column id used by records() (ids count from 0). One cell
// a call: sending the whole list for each new column was quadratic in the columns of a wide CSV (100,000
// columns took ten minutes).
napi_value Column(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!argsOf(env, info, 2, args)) return nullptr;
  Engine* engine = engineOf(env, args[0]);
  if (engine == nullptr) return nullptr;
  std::string cell;
  if (!engine->stringOf(args[1], cell)) return nullptr;
  engine->fieldCells.push_back(std::move(cell));
  return nullptr;
}

// records(engine, values, layout): records read in JavaScript. `values` holds, per record, its SourceIndex and
// then its non-empty field values; `layout` holds, per record, its field count and then each field's column id.
napi_value Records(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!argsOf(env, info, 3, args)) return nullptr;
  Engine* engine = engineOf(env, args[0]);
  if (engine == nullptr) return nullptr;
  size_t length = 0;
  void* data = typedArray(env, args[2], napi_int32_array, &length, "ioc_extract: layout must be an Int32Array");
  if (data == nullptr) return nullptr;
  const int32_t* layout = static_cast<const int32_t*>(data);
  uint32_t next = 0;
  std::string text;
  size_t at = 0;
  // Every way out below writes the waiting rows first (flush), a failure's included (it is thrown again then).
  while (at < length && !engine->failed) {
    Scope each(env);
    int32_t fields = layout[at++];
    napi_value element;
    napi_get_element(env, args[1], next++, &element);
    if (!engine->stringOf(element, text)) break;
    engine->records++;
    engine->setIndex(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    for (int32_t field = 0; field < fields && at < length && !engine->failed; ++field) {
      int32_t column = layout[at++];
      if (column < 0 || static_cast<size_t>(column) >= engine->fieldCells.size()) {
        napi_throw_range_error(env, nullptr, "ioc_extract: unknown column id");
        engine->failed = true;
        break;
      }
      engine->fieldCell = engine->fieldCells[static_cast<size_t>(column)];
      napi_get_element(env, args[1], next++, &element);
      if (!engine->stringOf(element, text)) break;
      engine->field(reinterpret_cast<const uint8_t*>(text.data()), static_cast<int>(text.size()));
    }
  }
  engine->flush();
  return nullptr;
}

void setNumber(napi_env env, napi_value object, const char* name, double value) {
  napi_value number;
  napi_create_double(env, value, &number);
  napi_set_named_property(env, object, name, number);
}

// take(engine, into) -> { rowsLength, rows?, records, occurrences, valid, duplicates, allowlisted, rejected }:
// what was made since the last take, which starts the next part afresh. The rows are copied into `into` (a
// Uint8Array) when they fit, else into a new Buffer, `rows` (see NativeEngine.take).
napi_value Take(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!argsOf(env, info, 2, args)) return nullptr;
  Engine* engine = engineOf(env, args[0]);
  if (engine == nullptr) return nullptr;
  size_t room = 0;
  void* into = typedArray(env, args[1], napi_uint8_array, &room, "ioc_extract: take() needs a Uint8Array");
  if (into == nullptr) return nullptr;
  napi_value result;
  napi_create_object(env, &result);
  size_t size = engine->out.size();
  if (size <= room) {
    if (size > 0) std::memcpy(into, engine->out.data(), size);
  } else {
    napi_value rows;
    void* copy = nullptr;
    napi_create_buffer_copy(env, size, engine->out.data(), &copy, &rows);
    napi_set_named_property(env, result, "rows", rows);
  }
  setNumber(env, result, "rowsLength", static_cast<double>(size));
  setNumber(env, result, "records", engine->records);
  setNumber(env, result, "occurrences", engine->occurrences);
  setNumber(env, result, "valid", engine->valid);
  setNumber(env, result, "duplicates", engine->duplicates);
  setNumber(env, result, "allowlisted", engine->allowlisted);
  napi_value rejected;
  napi_create_object(env, &rejected);
  for (int32_t id : engine->usedStatuses) {
    const Status& status = engine->statuses[static_cast<size_t>(id)];
    napi_value count;
    napi_value key;
    napi_create_double(env, status.count, &count);
    napi_create_string_utf8(env, status.text.data(), status.text.size(), &key);
    napi_set_property(env, rejected, key, count);
  }
  napi_set_named_property(env, result, "rejected", rejected);
  if (engine->keepSightings) {
    // { types: Uint8Array, values: string[], notes: string[] } (a note's text, '' for none)
    napi_value sightings, types, values, notes, buffer;
    size_t count = static_cast<size_t>(engine->sightingCount);
    void* data = nullptr;
    napi_create_arraybuffer(env, count, &data, &buffer);
    napi_create_typedarray(env, napi_uint8_array, count, buffer, 0, &types);
    napi_create_array_with_length(env, count, &values);
    napi_create_array_with_length(env, count, &notes);
    const std::string& all = engine->sightings;
    size_t at = 0;
    for (size_t i = 0; i < count; ++i) {
      static_cast<uint8_t*>(data)[i] = static_cast<uint8_t>(all[at]);
      const std::string& note = engine->notes[static_cast<uint8_t>(all[at + 1])];
      uint32_t length = 0;
      std::memcpy(&length, all.data() + at + 2, 4);
      napi_value value, noteValue;
      napi_create_string_utf8(env, all.data() + at + 6, length, &value);
      napi_create_string_utf8(env, note.data(), note.size(), &noteValue);
      napi_set_element(env, values, static_cast<uint32_t>(i), value);
      napi_set_element(env, notes, static_cast<uint32_t>(i), noteValue);
      at += 6 + length;
    }
    napi_create_object(env, &sightings);
    napi_set_named_property(env, sightings, "types", types);
    napi_set_named_property(env, sightings, "values", values);
    napi_set_named_property(env, sightings, "notes", notes);
    napi_set_named_property(env, result, "sightings", sightings);
    std::string().swap(engine->sightings);
    engine->sightingCount = 0;
  }
  // Keeps the output's capacity for the next part when it is moderate.
  if (engine->out.capacity() > (8u << 20)) engine->out.release();
  else engine->out.clear();
  engine->resetCounts();
  return result;
}

// trimHeap(): gives the memory the C library holds free back to the system; returns whether it could. glibc keeps
// what its threads' arenas freed (V8's compiler and collector threads, libuv's pool): 10 to 15 MB of `enrich`'s
// peak RSS (src/cli/young-generation.ts has `enrich` call it every second). Elsewhere (musl, macOS, Windows) it
// does nothing.
napi_value TrimHeap(napi_env env, napi_callback_info) {
  napi_value result;
#ifdef __GLIBC__
  malloc_trim(0);
  napi_get_boolean(env, true, &result);
#else
  napi_get_boolean(env, false, &result);
#endif
  return result;
}

}  // namespace

void registerResultCsv(napi_env env, napi_value exports);  // native/result-csv.cc

NAPI_MODULE_INIT() {
  initClasses();
  initRunClasses();
  initTriggers();
  napi_property_descriptor functions[] = {
      {"create", nullptr, Create, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"text", nullptr, Text, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"column", nullptr, Column, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"records", nullptr, Records, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"take", nullptr, Take, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"trimHeap", nullptr, TrimHeap, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  registerResultCsv(env, exports);
  // The interface version src/native/engine.ts expects (NATIVE_INTERFACE): a module built from older sources is
  // not used. Raise both when a function's arguments or results change.
  napi_value version;
  napi_create_uint32(env, 10, &version);
  napi_set_named_property(env, exports, "version", version);
  return exports;
}
