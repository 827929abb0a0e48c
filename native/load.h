// Unaligned little-endian loads shared by the native sources (extract.cc, result-csv.cc).
#ifndef IOC_ENRICH_NATIVE_LOAD_H
#define IOC_ENRICH_NATIVE_LOAD_H

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace {

inline uint64_t load64(const uint8_t* bytes) {
  uint64_t value;
  std::memcpy(&value, bytes, 8);
  return value;
}

inline uint64_t load32(const uint8_t* bytes) {
  uint32_t value;
  std::memcpy(&value, bytes, 4);
  return value;
}

// The first `n` bytes at `bytes` (0 to 8), little-endian, zero-extended: what a memcpy of them into a zeroed word
// gives, read with two overlapping loads instead (the overlap's bytes land on the same bits). A memcpy of a
// variable length became byte stores followed by a word load, which stalled on store forwarding: that load was
// 45 % of fingerprintOf's samples (issue 12).
inline uint64_t loadUpTo8(const uint8_t* bytes, size_t n) {
  if (n >= 4) return n == 8 ? load64(bytes) : load32(bytes) | (load32(bytes + n - 4) << ((n - 4) * 8));
  if (n == 0) return 0;
  return static_cast<uint64_t>(bytes[0]) | (static_cast<uint64_t>(bytes[n / 2]) << (n / 2 * 8)) |
         (static_cast<uint64_t>(bytes[n - 1]) << ((n - 1) * 8));
}

}  // namespace

#endif
