/*
 * What every dcnv2 kernel file shares: fixed-width types, the export attribute, and MADD, the f32x4
 * multiply-add that is a real fused FMA in the relaxed-SIMD build (-DDCN_RELAXED) and mul + add otherwise.
 */
#ifndef DCN_SIMD_H
#define DCN_SIMD_H

#include <stdint.h>
#include <wasm_simd128.h>

typedef int32_t i32;
typedef int64_t i64;
typedef uint8_t u8;

#define EXPORT(name) __attribute__((export_name(#name)))

#ifdef DCN_RELAXED
#define MADD(a, b, c) wasm_f32x4_relaxed_madd((a), (b), (c))
#else
#define MADD(a, b, c) wasm_f32x4_add((c), wasm_f32x4_mul((a), (b)))
#endif

#endif
