// The fast path of the results-CSV reader (src/io/result-csv.ts): where a record's wanted fields lie, in C++.
//
// Why it exists (issue 14): `ioc-enrich report` on a million result rows spent about half of its time walking the
// records byte by byte in JavaScript and numbering the cells it groups by (hashing their bytes, probing a table,
// comparing). This walks them sixteen bytes at a time (SSE2; memchr for quoted fields) and numbers the cells the
// caller asks for in tables of its own (ByteTable), many records per call.
//
// What it is not: a second reader. It reads only records that are complete within the buffer and well formed
// (every quote where RFC 4180 allows one, the header's number of fields), and stops before anything else: a record
// cut by the buffer's end, a malformed one, one with the wrong number of fields. The JavaScript reader then walks
// that record itself, so every error, its wording and its line, and the end of the input live in one place
// (result-csv.ts). Its walk is the reference: test/io/result-csv-native.test.ts compares the two on random records.

#define NAPI_VERSION 8
#include <node_api.h>

#include "load.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace {

constexpr uint8_t COMMA = 0x2c, QUOTE = 0x22, LF = 0x0a, CR = 0x0d;

// The hash of ByteTable: eight bytes at a time, a multiply and a shift each (FNV-1a's byte at a time, one dependent
// multiply per byte, cost half of the numbering's time on the report bench).
uint32_t hashOf(const uint8_t* bytes, size_t length) {
  uint64_t hash = 0x9e3779b97f4a7c15ull ^ length;
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    hash = (hash ^ load64(bytes + i)) * 0xbf58476d1ce4e5b9ull;
    hash ^= hash >> 29;
  }
  if (i < length) hash = (hash ^ loadUpTo8(bytes + i, length - i)) * 0xbf58476d1ce4e5b9ull;
  hash ^= hash >> 32;
  hash *= 0x94d049bb133111ebull;
  return static_cast<uint32_t>(hash >> 32);
}

// The index of the first `,`, LF or `"` at or after `from`, or `length`: sixteen bytes at a time where SSE2 is
// there (every x86-64), else one at a time. (A 64-byte bit mask made once per block and scanned per field measured
// no faster on the report bench: a result row's fields are mostly empty or short.)
size_t nextSpecial(const uint8_t* bytes, size_t from, size_t length) {
  size_t index = from;
#ifdef __SSE2__
  const __m128i commas = _mm_set1_epi8(static_cast<char>(COMMA));
  const __m128i lfs = _mm_set1_epi8(static_cast<char>(LF));
  const __m128i quotes = _mm_set1_epi8(static_cast<char>(QUOTE));
  while (index + 16 <= length) {
    __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + index));
    __m128i found = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(block, commas), _mm_cmpeq_epi8(block, lfs)),
                                 _mm_cmpeq_epi8(block, quotes));
    int mask = _mm_movemask_epi8(found);
    if (mask != 0) return index + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    index += 16;
  }
#endif
  while (index < length) {
    uint8_t byte = bytes[index];
    if (byte == COMMA || byte == LF || byte == QUOTE) return index;
    ++index;
  }
  return length;
}

// The numbers of one column's distinct byte strings, in order of first appearance: an open-addressing table kept at
// most half full, the keys' bytes in one arena. (src/io/byte-ids.ts is the JavaScript reader's equivalent.)
class ByteTable {
 public:
  int32_t keyOf(const uint8_t* data, size_t length, uint32_t hash) {
    size_t mask = slots_.size() - 1;
    for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
      int32_t key = slots_[slot];
      if (key < 0) {
        key = static_cast<int32_t>(hashes_.size());
        hashes_.push_back(hash);
        starts_.push_back(bytes_.size());
        lengths_.push_back(static_cast<uint32_t>(length));
        bytes_.append(reinterpret_cast<const char*>(data), length);
        slots_[slot] = key;
        if (hashes_.size() * 2 > slots_.size()) rehash();
        return key;
      }
      size_t k = static_cast<size_t>(key);
      if (hashes_[k] == hash && lengths_[k] == length &&
          (length == 0 || std::memcmp(bytes_.data() + starts_[k], data, length) == 0))
        return key;
    }
  }

 private:
  void rehash() {
    slots_.assign(slots_.size() * 2, -1);
    size_t mask = slots_.size() - 1;
    for (size_t key = 0; key < hashes_.size(); ++key) {
      size_t slot = hashes_[key] & mask;
      while (slots_[slot] >= 0) slot = (slot + 1) & mask;
      slots_[slot] = static_cast<int32_t>(key);
    }
  }
  std::vector<int32_t> slots_ = std::vector<int32_t>(1024, -1);
  std::vector<uint32_t> hashes_;
  std::vector<size_t> starts_;
  std::vector<uint32_t> lengths_;
  std::string bytes_;
};

// One table per slot of a reader (only the numbered slots' are used).
struct Tables {
  std::vector<ByteTable> bySlot;
};

Tables* tablesOf(napi_env env, napi_value value) {
  void* data = nullptr;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, value, &data) != napi_ok || data == nullptr) {
    napi_throw_type_error(env, nullptr, "ioc_extract: expected the tables of resultCsvTables()");
    return nullptr;
  }
  return static_cast<Tables*>(data);
}

bool typedArrayOf(napi_env env, napi_value value, napi_typedarray_type type, void** data, size_t* length) {
  napi_typedarray_type actual;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, value, &actual, length, data, &buffer, &offset) != napi_ok || actual != type) {
    napi_throw_type_error(env, nullptr, "ioc_extract: resultCsv* got an argument of the wrong type");
    return false;
  }
  return true;
}

// The call's `count` arguments and, first of them, the reader's tables; null (an exception pending) when short.
Tables* argsOf(napi_env env, napi_callback_info info, size_t count, napi_value* args) {
  size_t argc = count;
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  if (argc < count) {
    napi_throw_type_error(env, nullptr, "ioc_extract: resultCsv* called with too few arguments");
    return nullptr;
  }
  return tablesOf(env, args[0]);
}

// resultCsvSpans(tables, bytes: Uint8Array, from: number, fields: number, slots: Int32Array, numbered: Uint8Array,
//                out: Int32Array) -> records
//
// Reads records from `from` while they are complete and well formed, at most as many as `out` has room for. `slots`
// gives, by field position, the field's slot among the wanted ones, or -1; `numbered`, by slot, 1 for a field to
// number. Per record, `out` gets 2 + 4 * wanted numbers: the offset after the record, the lines it took (the blank
// lines before it, its own, and the line ends inside its quoted fields), then per wanted slot the field's start and
// end (quotes excluded), 1 when it holds `""` to undo, and for a numbered slot the number of its bytes from
// start to end as they are (doubled quotes and the formula guard included) in that slot's table of `tables`
// (resultCsvTables: distinct bytes numbered from 0 in order of first appearance). Returns the number of records
// read: the next one starts at the last one's offset (or at `from` when none), and is for the JavaScript walk.
napi_value ResultCsvSpans(napi_env env, napi_callback_info info) {
  napi_value args[7];
  Tables* tables = argsOf(env, info, 7, args);
  if (tables == nullptr) return nullptr;
  void* bytesData = nullptr;
  void* slotsData = nullptr;
  void* numberedData = nullptr;
  void* outData = nullptr;
  size_t length = 0, slotCount = 0, numberedCount = 0, outLength = 0;
  if (!typedArrayOf(env, args[1], napi_uint8_array, &bytesData, &length)) return nullptr;
  if (!typedArrayOf(env, args[4], napi_int32_array, &slotsData, &slotCount)) return nullptr;
  if (!typedArrayOf(env, args[5], napi_uint8_array, &numberedData, &numberedCount)) return nullptr;
  if (!typedArrayOf(env, args[6], napi_int32_array, &outData, &outLength)) return nullptr;
  double fromNumber = 0, fieldsNumber = 0;
  napi_get_value_double(env, args[2], &fromNumber);
  napi_get_value_double(env, args[3], &fieldsNumber);
  const uint8_t* bytes = static_cast<const uint8_t*>(bytesData);
  const int32_t* slots = static_cast<const int32_t*>(slotsData);
  int32_t* out = static_cast<int32_t*>(outData);
  const long fields = static_cast<long>(fieldsNumber);
  const uint8_t* numbered = static_cast<const uint8_t*>(numberedData);
  long wanted = 0;
  for (size_t i = 0; i < slotCount; ++i)
    if (slots[i] >= wanted) wanted = slots[i] + 1;
  if (static_cast<size_t>(wanted) > numberedCount || static_cast<size_t>(wanted) > tables->bySlot.size() ||
      length > 0x7fffffffu) {
    napi_throw_range_error(env, nullptr, "ioc_extract: resultCsvSpans: a slot without its flag or table, or 2 GiB of bytes");
    return nullptr;
  }
  const size_t stride = 2 + 4 * static_cast<size_t>(wanted);
  const size_t room = outLength / stride;
  size_t at = fromNumber < 0 ? 0 : static_cast<size_t>(fromNumber);
  size_t records = 0;

  while (records < room && at < length) {
    // Blank lines between records are no records (as in ResultCsvScanner.scan); a CR at the buffer's end is left
    // to the JavaScript reader, which knows whether more input follows.
    int32_t lines = 0;
    while (at < length) {
      if (bytes[at] == LF) {
        ++at;
        ++lines;
      } else if (bytes[at] == CR && at + 1 < length && bytes[at + 1] == LF) {
        at += 2;
        ++lines;
      } else {
        break;
      }
    }
    if (at >= length) break;
    int32_t* record = out + records * stride;
    size_t index = at;
    long field = 0;
    int32_t newlines = 0;
    bool ok = true;
    for (;;) {
      size_t start = index;
      size_t end;
      int32_t doubled = 0;
      if (bytes[index] == QUOTE) {
        start = ++index;
        const uint8_t* quote;
        for (;;) {
          quote = static_cast<const uint8_t*>(std::memchr(bytes + index, QUOTE, length - index));
          // The quote's meaning depends on the byte after it: one at the buffer's end is left to JavaScript.
          if (quote == nullptr || static_cast<size_t>(quote - bytes) + 1 >= length) {
            ok = false;
            break;
          }
          index = static_cast<size_t>(quote - bytes);
          if (bytes[index + 1] != QUOTE) break;
          doubled = 1;
          index += 2;
        }
        if (!ok) break;
        end = index++;
        for (size_t i = start; i < end; ++i) newlines += bytes[i] == LF;
        uint8_t after = bytes[index];  // index < length: the byte after the closing quote exists (checked above)
        if (after == CR) {
          if (index + 1 >= length || bytes[index + 1] != LF) {
            ok = false;
            break;
          }
          after = bytes[++index];
        }
        if (after != COMMA && after != LF) {
          ok = false;
          break;
        }
      } else {
        index = nextSpecial(bytes, index, length);
        if (index >= length || bytes[index] == QUOTE) {
          ok = false;
          break;
        }
        end = index;
        // The CR of a CRLF line end is not data.
        if (end > start && bytes[end - 1] == CR && bytes[index] == LF) --end;
      }
      if (field < fields && field < static_cast<long>(slotCount) && slots[field] >= 0) {
        int32_t slot = slots[field];
        int32_t* cell = record + 2 + 4 * slot;
        cell[0] = static_cast<int32_t>(start);
        cell[1] = static_cast<int32_t>(end);
        cell[2] = doubled;
        if (numbered[slot] != 0) {
          cell[3] = tables->bySlot[static_cast<size_t>(slot)].keyOf(bytes + start, end - start,
                                                                    hashOf(bytes + start, end - start));
        }
      }
      ++field;
      if (bytes[index++] == LF) break;
    }
    if (!ok || field != fields) break;
    record[0] = static_cast<int32_t>(index);
    record[1] = lines + 1 + newlines;
    at = index;
    ++records;
  }
  napi_value result;
  napi_create_uint32(env, static_cast<uint32_t>(records), &result);
  return result;
}

// resultCsvTables(slots: number) -> the tables of one reader, one per slot (freed with it).
napi_value ResultCsvTables(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  double slots = 0;
  if (argc < 1 || napi_get_value_double(env, args[0], &slots) != napi_ok || slots < 0 || slots > 65536) {
    napi_throw_range_error(env, nullptr, "ioc_extract: resultCsvTables takes a number of slots");
    return nullptr;
  }
  Tables* tables = new Tables();
  tables->bySlot.resize(static_cast<size_t>(slots));
  napi_value result;
  napi_create_external(
      env, tables, [](napi_env, void* data, void*) { delete static_cast<Tables*>(data); }, nullptr, &result);
  return result;
}

// resultCsvKey(tables, slot: number, bytes: Uint8Array, start: number, end: number) -> the number of those bytes in
// the slot's table (for a record the JavaScript walk read, so that its numbers are the scanner's).
napi_value ResultCsvKey(napi_env env, napi_callback_info info) {
  napi_value args[5];
  Tables* tables = argsOf(env, info, 5, args);
  if (tables == nullptr) return nullptr;
  void* data = nullptr;
  size_t length = 0;
  if (!typedArrayOf(env, args[2], napi_uint8_array, &data, &length)) return nullptr;
  double slot = 0, start = 0, end = 0;
  napi_get_value_double(env, args[1], &slot);
  napi_get_value_double(env, args[3], &start);
  napi_get_value_double(env, args[4], &end);
  if (slot < 0 || slot >= static_cast<double>(tables->bySlot.size()) || start < 0 || end < start ||
      end > static_cast<double>(length)) {
    napi_throw_range_error(env, nullptr, "ioc_extract: resultCsvKey: no such slot or bytes");
    return nullptr;
  }
  const uint8_t* bytes = static_cast<const uint8_t*>(data) + static_cast<size_t>(start);
  size_t count = static_cast<size_t>(end) - static_cast<size_t>(start);
  napi_value result;
  napi_create_int32(env, tables->bySlot[static_cast<size_t>(slot)].keyOf(bytes, count, hashOf(bytes, count)), &result);
  return result;
}

}  // namespace

// Adds this file's functions to the module's exports (called from the module's init in extract.cc).
void registerResultCsv(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      {"resultCsvSpans", nullptr, ResultCsvSpans, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"resultCsvTables", nullptr, ResultCsvTables, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"resultCsvKey", nullptr, ResultCsvKey, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
}
