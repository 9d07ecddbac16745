//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 float32 loops for elementwise kernels, called from elem_amd64.go
// only when hasAVX512. Each takes n elements; the last partial vector is
// loaded and stored through a mask.

// TAILMASK sets K1 to the lanes of the last min(CX, 16) elements: all 16,
// or the first CX. Clobbers AX.
#define TAILMASK \
	MOVL  $0xffff, AX; \
	CMPQ  CX, $16; \
	JGE   4(PC); \
	MOVL  $1, AX; \
	SHLL  CX, AX; \
	DECL  AX; \
	KMOVW AX, K1

// func sreluGrad(dx, dy, x unsafe.Pointer, n int)
//
// dx[i] = dy[i] where x[i] > 0, else 0 (NaN in x gives 0, as torch's
// threshold_backward).
TEXT ·sreluGrad(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ n+24(FP), CX
	VPXORD Z0, Z0, Z0

rgloop:
	TESTQ CX, CX
	JLE   rgdone
	TAILMASK
	VMOVUPS.Z (DX), K1, Z1
	VCMPPS    $0x1e, Z0, Z1, K1, K2 // x > 0 (ordered, quiet), within K1
	VMOVUPS.Z (SI), K2, Z2
	VMOVUPS   Z2, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP  rgloop

rgdone:
	VZEROUPPER
	RET

// func saxpy(dst, x, y unsafe.Pointer, n int, a float32)
//
// dst[i] = x[i] + a·y[i], rounded after the product as the Go loop it
// replaces (no fused multiply-add).
TEXT ·saxpy(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS a+32(FP), Z0

axloop64:
	CMPQ CX, $64
	JLT  axloop
	VMULPS (DX), Z0, Z1
	VMULPS 64(DX), Z0, Z2
	VMULPS 128(DX), Z0, Z3
	VMULPS 192(DX), Z0, Z4
	VADDPS (SI), Z1, Z1
	VADDPS 64(SI), Z2, Z2
	VADDPS 128(SI), Z3, Z3
	VADDPS 192(SI), Z4, Z4
	VMOVUPS Z1, (DI)
	VMOVUPS Z2, 64(DI)
	VMOVUPS Z3, 128(DI)
	VMOVUPS Z4, 192(DI)
	ADDQ $256, DI
	ADDQ $256, SI
	ADDQ $256, DX
	SUBQ $64, CX
	JMP  axloop64

axloop:
	TESTQ CX, CX
	JLE   axdone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z1
	VMOVUPS.Z (DX), K1, Z2
	VMULPS Z2, Z0, Z2
	VADDPS Z2, Z1, Z1
	VMOVUPS Z1, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP  axloop

axdone:
	VZEROUPPER
	RET

// func scolSum(dst, src unsafe.Pointer, rows, w int)
//
// dst[j] = Σ_r src[r·w + j] for j < w: the column sums of a rows×w matrix,
// sixteen columns at a time in one register, rows unrolled by two.
TEXT ·scolSum(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ w+24(FP), CX
	MOVQ CX, R8
	SHLQ $2, R8 // row stride in bytes

csblock:
	TESTQ CX, CX
	JLE   csdone
	TAILMASK
	MOVQ  rows+16(FP), BX
	MOVQ  SI, DX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1

csrow2:
	CMPQ BX, $2
	JLT  csrow1
	VMOVUPS.Z (DX), K1, Z2
	VADDPS    Z2, Z0, Z0
	VMOVUPS.Z (DX)(R8*1), K1, Z3
	VADDPS    Z3, Z1, Z1
	LEAQ (DX)(R8*2), DX
	SUBQ $2, BX
	JMP  csrow2

csrow1:
	TESTQ BX, BX
	JZ    csstore
	VMOVUPS.Z (DX), K1, Z2
	VADDPS    Z2, Z0, Z0

csstore:
	VADDPS  Z1, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  csblock

csdone:
	VZEROUPPER
	RET

// func srelu(dst, x unsafe.Pointer, n int)
//
// dst[i] = max(x[i], 0), NaN kept (VMAXPS returns its second source, x,
// when either is NaN).
TEXT ·srelu(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VPXORD Z0, Z0, Z0

rlloop:
	TESTQ CX, CX
	JLE   rldone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z1
	VMAXPS    Z1, Z0, Z1
	VMOVUPS   Z1, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  rlloop

rldone:
	VZEROUPPER
	RET

// The lanes of the even and the odd elements of 32, for VPERMI2PS.
DATA poolEven<>+0(SB)/4, $0
DATA poolEven<>+4(SB)/4, $2
DATA poolEven<>+8(SB)/4, $4
DATA poolEven<>+12(SB)/4, $6
DATA poolEven<>+16(SB)/4, $8
DATA poolEven<>+20(SB)/4, $10
DATA poolEven<>+24(SB)/4, $12
DATA poolEven<>+28(SB)/4, $14
DATA poolEven<>+32(SB)/4, $16
DATA poolEven<>+36(SB)/4, $18
DATA poolEven<>+40(SB)/4, $20
DATA poolEven<>+44(SB)/4, $22
DATA poolEven<>+48(SB)/4, $24
DATA poolEven<>+52(SB)/4, $26
DATA poolEven<>+56(SB)/4, $28
DATA poolEven<>+60(SB)/4, $30
GLOBL poolEven<>(SB), RODATA|NOPTR, $64

// func smaxPool2x2(dst, idx, r0, r1 unsafe.Pointer, masks uint64, base, w int32)
//
// Up to sixteen 2×2 windows of stride 2: window j covers r0[2j], r0[2j+1],
// r1[2j], r1[2j+1]. dst[j] is the greatest, the first in that order
// winning ties, a NaN (the first) winning over all; idx[j] (when idx is
// not nil) is its index, base + 2j for r0[2j], +1, +w, +w+1. masks: bits
// 0-15 the windows stored, 16-31 and 32-47 the elements of r0 and r1
// read (0-15 and 16-31).
TEXT ·smaxPool2x2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ idx+8(FP), DX
	MOVQ r0+16(FP), SI
	MOVQ r1+24(FP), BX
	MOVQ masks+32(FP), AX
	KMOVW AX, K1
	SHRQ  $16, AX
	KMOVW AX, K5
	SHRQ  $16, AX
	KMOVW AX, K6

	VMOVUPS.Z (SI), K5, Z10
	VMOVUPS.Z 64(SI), K6, Z11
	VMOVUPS.Z (BX), K5, Z12
	VMOVUPS.Z 64(BX), K6, Z13
	VMOVDQU32 poolEven<>(SB), Z20 // 2j
	MOVL      base+40(FP), AX
	VPBROADCASTD AX, Z21
	VPADDD    Z20, Z21, Z21       // base + 2j
	MOVL      $1, AX
	VPBROADCASTD AX, Z22          // 1
	VPADDD    Z22, Z20, Z23       // odd lanes: 2j + 1
	VMOVDQA32 Z20, Z0
	VPERMI2PS Z11, Z10, Z0        // a
	VMOVDQA32 Z23, Z1
	VPERMI2PS Z11, Z10, Z1        // b
	VMOVDQA32 Z20, Z2
	VPERMI2PS Z13, Z12, Z2        // c
	VMOVDQA32 Z23, Z3
	VPERMI2PS Z13, Z12, Z3        // d
	MOVL      w+44(FP), AX
	VPBROADCASTD AX, Z24          // w
	VPADDD    Z22, Z24, Z25       // w + 1
	VPXORD    Z5, Z5, Z5          // offset of the winner: 0 for a

// TAKE makes v the winner where it is greater than m (Z0) or NaN while m
// is not, with offset off.
#define TAKE(v, off) \
	VCMPPS    $0x1e, Z0, v, K2; \
	VCMPPS    $3, v, v, K3; \
	VCMPPS    $7, Z0, Z0, K4; \
	KANDW     K3, K4, K3; \
	KORW      K2, K3, K2; \
	VMOVAPS   v, K2, Z0; \
	VMOVDQA32 off, K2, Z5

	TAKE(Z1, Z22)
	TAKE(Z2, Z24)
	TAKE(Z3, Z25)
	VMOVUPS Z0, K1, (DI)
	TESTQ   DX, DX
	JZ      pooldone
	VPADDD    Z5, Z21, Z5
	VMOVDQU32 Z5, K1, (DX)

pooldone:
	VZEROUPPER
	RET

// The Adam updates of update.go for float32, without weight decay: the
// same single-precision operations in the same order as the Go loops, so
// the same bits, sixteen elements at a time.

// func sadamM(dst, m, grad unsafe.Pointer, n int, weight float32)
//
// dst = m + weight·(grad - m).
TEXT ·sadamM(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ m+8(FP), SI
	MOVQ grad+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS weight+32(FP), Z0

ammloop:
	TESTQ CX, CX
	JLE   ammdone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z1
	VMOVUPS.Z (DX), K1, Z2
	VSUBPS    Z1, Z2, Z2
	VMULPS    Z2, Z0, Z2
	VADDPS    Z2, Z1, Z1
	VMOVUPS   Z1, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP  ammloop

ammdone:
	VZEROUPPER
	RET

// func sadamV(dst, v, grad unsafe.Pointer, n int, b2, one float32)
//
// dst = v·b2 + (one·grad)·grad.
TEXT ·sadamV(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ grad+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS b2+32(FP), Z0
	VBROADCASTSS one+36(FP), Z3

avloop:
	TESTQ CX, CX
	JLE   avdone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z1
	VMOVUPS.Z (DX), K1, Z2
	VMULPS    Z0, Z1, Z1
	VMULPS    Z3, Z2, Z4
	VMULPS    Z2, Z4, Z4
	VADDPS    Z4, Z1, Z1
	VMOVUPS   Z1, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP  avloop

avdone:
	VZEROUPPER
	RET

// func sadamStep(dst, p, m, v unsafe.Pointer, n int, negStep, bc2Sqrt, eps, decay float32)
//
// dst = p·decay + (negStep·m) / (sqrt(v)/bc2Sqrt + eps): decay is AdamW's
// 1 − lr·weight_decay, 1 (exact) for Adam.
TEXT ·sadamStep(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), BX
	MOVQ n+32(FP), CX
	VBROADCASTSS negStep+40(FP), Z0
	VBROADCASTSS bc2Sqrt+44(FP), Z5
	VBROADCASTSS eps+48(FP), Z6
	VBROADCASTSS decay+52(FP), Z7

asloop:
	TESTQ CX, CX
	JLE   asdone
	TAILMASK
	VMOVUPS.Z (BX), K1, Z1
	VSQRTPS   Z1, Z1
	VDIVPS    Z5, Z1, Z1
	VADDPS    Z6, Z1, Z1
	VMOVUPS.Z (DX), K1, Z2
	VMULPS    Z2, Z0, Z2
	VDIVPS    Z1, Z2, Z2
	VMOVUPS.Z (SI), K1, Z3
	VMULPS    Z7, Z3, Z3
	VADDPS    Z2, Z3, Z3
	VMOVUPS   Z3, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, BX
	SUBQ $16, CX
	JMP  asloop

asdone:
	VZEROUPPER
	RET

// Sums of float32 data in float64, for batch norm: sixteen elements a
// step, converted to two vectors of eight doubles, each added into its
// own accumulator; the tail through a mask (the lanes past it are zero).

// LOAD16D loads the next min(CX, 16) float32 at ptr (K1 set by TAILMASK)
// as doubles into lo and hi. Clobbers Z15.
#define LOAD16D(ptr, lo, hi) \
	VMOVUPS.Z     (ptr), K1, Z15; \
	VCVTPS2PD     Y15, lo; \
	VEXTRACTF64X4 $1, Z15, Y15; \
	VCVTPS2PD     Y15, hi

// STORE16D rounds the doubles of lo and hi (Z registers, whose Y halves
// are named ylo and yhi) to float32 and stores them at ptr through K1.
// Clobbers lo.
#define STORE16D(lo, hi, ylo, yhi, ptr) \
	VCVTPD2PS     lo, ylo; \
	VCVTPD2PS     hi, yhi; \
	VINSERTF64X4  $1, yhi, lo, lo; \
	VMOVUPS       lo, K1, (ptr)

// HSUMPD leaves in X0's low lane the sum of the eight doubles of Z0 and
// z. Clobbers Z1.
#define HSUMPD(z) \
	VADDPD        z, Z0, Z0; \
	VEXTRACTF64X4 $1, Z0, Y1; \
	VADDPD        Y1, Y0, Y0; \
	VEXTRACTF128  $1, Y0, X1; \
	VADDPD        X1, X0, X0; \
	VPERMILPD     $1, X0, X1; \
	VADDSD        X1, X0, X0

// func ssum64(x unsafe.Pointer, n int) float64
TEXT ·ssum64(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPD Z0, Z0, Z0
	VXORPD Z2, Z2, Z2

s64loop:
	TESTQ CX, CX
	JLE   s64done
	TAILMASK
	LOAD16D(SI, Z3, Z4)
	VADDPD Z3, Z0, Z0
	VADDPD Z4, Z2, Z2
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  s64loop

s64done:
	HSUMPD(Z2)
	VMOVSD X0, ret+16(FP)
	VZEROUPPER
	RET

// func ssumSqDev64(x unsafe.Pointer, n int, mu float64) float64
//
// Σ (x - mu)², the masked-off lanes contributing nothing.
TEXT ·ssumSqDev64(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD mu+16(FP), Z5
	VXORPD Z0, Z0, Z0
	VXORPD Z2, Z2, Z2

sqloop:
	TESTQ CX, CX
	JLE   sqdone
	TAILMASK
	LOAD16D(SI, Z3, Z4)
	KSHIFTRW $8, K1, K2
	VSUBPD      Z5, Z3, K1, Z3
	VSUBPD      Z5, Z4, K2, Z4
	VFMADD231PD Z3, Z3, Z0
	VFMADD231PD Z4, Z4, Z2
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  sqloop

sqdone:
	HSUMPD(Z2)
	VMOVSD X0, ret+24(FP)
	VZEROUPPER
	RET

// func sdyXhat64(dy, x unsafe.Pointer, n int, mu, is float64) (sdy, sdyx float64)
//
// Σ dy and Σ dy·((x - mu)·is), as sumDyXhat.
TEXT ·sdyXhat64(SB), NOSPLIT, $0-56
	MOVQ dy+0(FP), DX
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSD mu+24(FP), Z5
	VBROADCASTSD is+32(FP), Z6
	VXORPD Z0, Z0, Z0
	VXORPD Z2, Z2, Z2
	VXORPD Z7, Z7, Z7
	VXORPD Z8, Z8, Z8

dxloop:
	TESTQ CX, CX
	JLE   dxdone
	TAILMASK
	LOAD16D(DX, Z9, Z10)
	LOAD16D(SI, Z3, Z4)
	VADDPD Z9, Z0, Z0
	VADDPD Z10, Z2, Z2
	VSUBPD Z5, Z3, Z3
	VSUBPD Z5, Z4, Z4
	VMULPD Z6, Z3, Z3
	VMULPD Z6, Z4, Z4
	VFMADD231PD Z9, Z3, Z7
	VFMADD231PD Z10, Z4, Z8
	ADDQ $64, DX
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  dxloop

dxdone:
	HSUMPD(Z2)
	VMOVSD X0, sdy+40(FP)
	VMOVAPD Z7, Z0
	HSUMPD(Z8)
	VMOVSD X0, sdyx+48(FP)
	VZEROUPPER
	RET

// func sim2colBlock(out, plane unsafe.Pointer, oh, ilo, ihi, srcOff, srcStride, ow, whole int, masks uint64)
//
// One block of im2col at stride 1, up to 32 columns: output row i (ow
// floats, rows consecutive from out) is zero for i outside [ilo, ihi) and
// else the floats at plane + srcOff + (i - ilo)·srcStride bytes in the
// lanes of the load masks (bits 32-47 and 48-63), zero in the others. The
// first whole rows are stored as 32 floats, spilling into the rows after
// (written later; whole keeps the spill inside the block), the others
// through the store masks (bits 0-15 and 16-31).
TEXT ·sim2colBlock(SB), NOSPLIT, $0-80
	MOVQ out+0(FP), DI
	MOVQ plane+8(FP), SI
	MOVQ oh+16(FP), CX
	MOVQ ilo+24(FP), R8
	MOVQ ihi+32(FP), R9
	ADDQ srcOff+40(FP), SI
	MOVQ srcStride+48(FP), R10
	MOVQ ow+56(FP), R11
	SHLQ $2, R11
	MOVQ whole+64(FP), R12
	MOVQ masks+72(FP), AX
	KMOVW AX, K1
	SHRQ  $16, AX
	KMOVW AX, K2
	SHRQ  $16, AX
	KMOVW AX, K3
	SHRQ  $16, AX
	KMOVW AX, K4
	XORQ BX, BX // i

i2cloop:
	CMPQ BX, CX
	JGE  i2cdone
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	CMPQ BX, R8
	JLT  i2cstore
	CMPQ BX, R9
	JGE  i2cstore
	VMOVUPS.Z (SI), K3, Z0
	VMOVUPS.Z 64(SI), K4, Z1
	ADDQ R10, SI

i2cstore:
	CMPQ BX, R12
	JGE  i2cmasked
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	JMP  i2cnext

i2cmasked:
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K2, 64(DI)

i2cnext:
	ADDQ R11, DI
	INCQ BX
	JMP  i2cloop

i2cdone:
	VZEROUPPER
	RET

// func scol2imBlock(plane, cols unsafe.Pointer, ilo, ihi, dstOff, dstStride, ow, step int, masks uint64)
//
// One block of col2im at stride 1, up to 32 columns: for the rows i in
// [ilo, ihi), the lanes of the masks (bits 0-15 and 16-31) of row i of cols
// (ow floats a row) are added into the floats at plane + dstOff +
// (i - ilo)·dstStride bytes. The rows go in step passes (ilo, ilo+step,
// ...; then ilo+1, ...) so that a row's masked loads never overlap the
// span just stored, which stalls them.
TEXT ·scol2imBlock(SB), NOSPLIT, $0-72
	MOVQ plane+0(FP), DI
	ADDQ dstOff+32(FP), DI
	MOVQ cols+8(FP), SI
	MOVQ ilo+16(FP), R8
	MOVQ ihi+24(FP), R9
	MOVQ dstStride+40(FP), R10
	MOVQ ow+48(FP), R11
	SHLQ $2, R11
	MOVQ step+56(FP), R12
	MOVQ masks+64(FP), AX
	KMOVW AX, K3
	SHRQ  $16, AX
	KMOVW AX, K4
	MOVQ R10, R13
	IMULQ R12, R13 // dst bytes between rows of a pass
	MOVQ R11, R14
	IMULQ R12, R14 // g bytes between rows of a pass
	XORQ DX, DX   // pass

c2ipass:
	CMPQ DX, R12
	JGE  c2idone
	LEAQ (R8)(DX*1), BX // i
	MOVQ DX, AX
	IMULQ R10, AX
	LEAQ (DI)(AX*1), CX // dst row of i
	MOVQ BX, AX
	IMULQ R11, AX
	ADDQ SI, AX         // g row of i

c2irow:
	CMPQ BX, R9
	JGE  c2inext
	VMOVUPS.Z (CX), K3, Z0
	VMOVUPS.Z 64(CX), K4, Z1
	VADDPS.Z  (AX), Z0, K3, Z0
	VADDPS.Z  64(AX), Z1, K4, Z1
	VMOVUPS   Z0, K3, (CX)
	VMOVUPS   Z1, K4, 64(CX)
	ADDQ R12, BX
	ADDQ R13, CX
	ADDQ R14, AX
	JMP  c2irow

c2inext:
	INCQ DX
	JMP  c2ipass

c2idone:
	VZEROUPPER
	RET

// func scol2imRow(dst, cols unsafe.Pointer, off, khlo, khhi, step int, tapOff *int64, tapMask *uint32, kw int, dmask uint32)
//
// One row of one channel of col2im at stride 1, at most 16 wide: the sum
// over r in [khlo, khhi) and s < kw of the 16 floats at cols + off +
// r·step + tapOff[s], lanes tapMask[s] (the others add nothing), is added
// to the row dst (lanes dmask). The row is loaded and stored once: no
// masked store is read back while in flight.
TEXT ·scol2imRow(SB), NOSPLIT, $0-76
	MOVQ dst+0(FP), DI
	MOVQ cols+8(FP), SI
	ADDQ off+16(FP), SI
	MOVQ khlo+24(FP), CX
	MOVQ khhi+32(FP), R8
	MOVQ step+40(FP), R9
	MOVQ tapOff+48(FP), R10
	MOVQ tapMask+56(FP), R11
	MOVQ kw+64(FP), R12
	VPXORD Z0, Z0, Z0
	MOVQ CX, BX
	IMULQ R9, BX
	ADDQ SI, BX // row r of the taps

crr:
	CMPQ CX, R8
	JGE  crstore
	XORQ DX, DX

crs:
	MOVL  (R11)(DX*4), AX
	KMOVW AX, K2
	MOVQ  (R10)(DX*8), AX
	VADDPS (BX)(AX*1), Z0, K2, Z0
	INCQ DX
	CMPQ DX, R12
	JLT  crs
	ADDQ R9, BX
	INCQ CX
	JMP  crr

crstore:
	MOVL  dmask+72(FP), AX
	KMOVW AX, K1
	VMOVUPS.Z (DI), K1, Z1
	VADDPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (DI)
	VZEROUPPER
	RET

// func saffine(dst, x unsafe.Pointer, n int, a, b float32)
//
// dst = x·a + b, rounded after the product (batch norm's normalize).
TEXT ·saffine(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Z0
	VBROADCASTSS b+28(FP), Z1

afloop:
	TESTQ CX, CX
	JLE   afdone
	TAILMASK
	VMOVUPS.Z (SI), K1, Z2
	VMULPS    Z0, Z2, Z2
	VADDPS    Z1, Z2, Z2
	VMOVUPS   Z2, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  afloop

afdone:
	VZEROUPPER
	RET

// func sbnGradX(dx, dy, x unsafe.Pointer, n int, mu, is, mdy, mdyx, k float64)
//
// dx = float32(k·((dy - mdy) - ((x - mu)·is)·mdyx)) in float64, the
// operations of BatchNormBackward's loop in its order.
TEXT ·sbnGradX(SB), NOSPLIT, $0-72
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	VBROADCASTSD mu+32(FP), Z20
	VBROADCASTSD is+40(FP), Z21
	VBROADCASTSD mdy+48(FP), Z22
	VBROADCASTSD mdyx+56(FP), Z23
	VBROADCASTSD k+64(FP), Z24

bgloop:
	TESTQ CX, CX
	JLE   bgdone
	TAILMASK
	LOAD16D(DX, Z2, Z3)
	LOAD16D(SI, Z4, Z5)
	VSUBPD Z20, Z4, Z4
	VSUBPD Z20, Z5, Z5
	VMULPD Z21, Z4, Z4
	VMULPD Z21, Z5, Z5
	VMULPD Z23, Z4, Z4
	VMULPD Z23, Z5, Z5
	VSUBPD Z22, Z2, Z2
	VSUBPD Z22, Z3, Z3
	VSUBPD Z4, Z2, Z2
	VSUBPD Z5, Z3, Z3
	VMULPD Z24, Z2, Z2
	VMULPD Z24, Z3, Z3
	STORE16D(Z2, Z3, Y2, Y3, DI)
	ADDQ $64, DI
	ADDQ $64, DX
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  bgloop

bgdone:
	VZEROUPPER
	RET

// func slnOut(dst, x, w, b unsafe.Pointer, n int, mu, r float64)
//
// dst = float32((x - mu)·r·w + b) in float64, the operations of
// LayerNorm's output loop in its order.
TEXT ·slnOut(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), R8
	MOVQ b+24(FP), R9
	MOVQ n+32(FP), CX
	VBROADCASTSD mu+40(FP), Z20
	VBROADCASTSD r+48(FP), Z21

lnoloop:
	TESTQ CX, CX
	JLE   lnodone
	TAILMASK
	LOAD16D(SI, Z2, Z3)
	LOAD16D(R8, Z4, Z5)
	LOAD16D(R9, Z6, Z7)
	VSUBPD Z20, Z2, Z2
	VSUBPD Z20, Z3, Z3
	VMULPD Z21, Z2, Z2
	VMULPD Z21, Z3, Z3
	VMULPD Z4, Z2, Z2
	VMULPD Z5, Z3, Z3
	VADDPD Z6, Z2, Z2
	VADDPD Z7, Z3, Z3
	STORE16D(Z2, Z3, Y2, Y3, DI)
	ADDQ $64, DI
	ADDQ $64, SI
	ADDQ $64, R8
	ADDQ $64, R9
	SUBQ $16, CX
	JMP  lnoloop

lnodone:
	VZEROUPPER
	RET

// func slnGradRow(dx, dy, x, w unsafe.Pointer, n int, mu, r, invD float64)
//
// One row of LayerNormBackward's input gradient in float64, the
// operations of its loops in their order: with g = dy·w, the sums
// mg = Σg·invD and mgx = Σ(g·(x - mu))·r·invD, then
// dx = float32(r·((g - mg) - (x - mu)·r·mgx)).
TEXT ·slnGradRow(SB), NOSPLIT, $0-64
	MOVQ dy+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), R8
	MOVQ n+32(FP), CX
	VBROADCASTSD mu+40(FP), Z20
	VBROADCASTSD r+48(FP), Z21
	VXORPD Z0, Z0, Z0
	VXORPD Z2, Z2, Z2
	VXORPD Z7, Z7, Z7
	VXORPD Z8, Z8, Z8

lgsloop:
	TESTQ CX, CX
	JLE   lgsdone
	TAILMASK
	LOAD16D(DX, Z9, Z10)
	LOAD16D(R8, Z11, Z12)
	LOAD16D(SI, Z3, Z4)
	VMULPD Z11, Z9, Z9
	VMULPD Z12, Z10, Z10
	VADDPD Z9, Z0, Z0
	VADDPD Z10, Z2, Z2
	VSUBPD Z20, Z3, Z3
	VSUBPD Z20, Z4, Z4
	VMULPD Z3, Z9, Z3
	VMULPD Z4, Z10, Z4
	VMULPD Z21, Z3, Z3
	VMULPD Z21, Z4, Z4
	VADDPD Z3, Z7, Z7
	VADDPD Z4, Z8, Z8
	ADDQ $64, DX
	ADDQ $64, SI
	ADDQ $64, R8
	SUBQ $16, CX
	JMP  lgsloop

lgsdone:
	VMOVSD invD+56(FP), X13
	HSUMPD(Z2)
	VMULSD X13, X0, X14
	VMOVAPD Z7, Z0
	HSUMPD(Z8)
	VMULSD X13, X0, X0
	VBROADCASTSD X14, Z22
	VBROADCASTSD X0, Z23
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), R8
	MOVQ n+32(FP), CX

lgxloop:
	TESTQ CX, CX
	JLE   lgxdone
	TAILMASK
	LOAD16D(DX, Z2, Z3)
	LOAD16D(R8, Z11, Z12)
	LOAD16D(SI, Z4, Z5)
	VMULPD Z11, Z2, Z2
	VMULPD Z12, Z3, Z3
	VSUBPD Z20, Z4, Z4
	VSUBPD Z20, Z5, Z5
	VMULPD Z21, Z4, Z4
	VMULPD Z21, Z5, Z5
	VMULPD Z23, Z4, Z4
	VMULPD Z23, Z5, Z5
	VSUBPD Z22, Z2, Z2
	VSUBPD Z22, Z3, Z3
	VSUBPD Z4, Z2, Z2
	VSUBPD Z5, Z3, Z3
	VMULPD Z21, Z2, Z2
	VMULPD Z21, Z3, Z3
	STORE16D(Z2, Z3, Y2, Y3, DI)
	ADDQ $64, DI
	ADDQ $64, DX
	ADDQ $64, SI
	ADDQ $64, R8
	SUBQ $16, CX
	JMP  lgxloop

lgxdone:
	VZEROUPPER
	RET

// func slnGradW(dw, dy, x, mean, rstd unsafe.Pointer, rows, d int)
//
// LayerNormBackward's weight gradient: dw[j] = float32(Σ_i dy·(x - mean)·rstd)
// over the rows, summed in row order in float64 (as its loop), sixteen
// columns at a time.
TEXT ·slnGradW(SB), NOSPLIT, $0-56
	MOVQ dw+0(FP), DI
	MOVQ dy+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ mean+24(FP), R8
	MOVQ rstd+32(FP), R9
	MOVQ rows+40(FP), R10
	MOVQ d+48(FP), CX
	MOVQ CX, R11
	SHLQ $2, R11

lgwcols:
	TESTQ CX, CX
	JLE   lgwdone
	TAILMASK
	VXORPD Z0, Z0, Z0
	VXORPD Z2, Z2, Z2
	MOVQ DX, R12
	MOVQ SI, R13
	XORQ BX, BX

lgwrows:
	CMPQ BX, R10
	JGE  lgwstore
	VCVTSS2SD    (R8)(BX*4), X6, X6
	VBROADCASTSD X6, Z6
	VCVTSS2SD    (R9)(BX*4), X7, X7
	VBROADCASTSD X7, Z7
	LOAD16D(R12, Z8, Z9)
	LOAD16D(R13, Z10, Z11)
	VSUBPD Z6, Z10, Z10
	VSUBPD Z6, Z11, Z11
	VMULPD Z10, Z8, Z10
	VMULPD Z11, Z9, Z11
	VMULPD Z7, Z10, Z10
	VMULPD Z7, Z11, Z11
	VADDPD Z10, Z0, Z0
	VADDPD Z11, Z2, Z2
	ADDQ R11, R12
	ADDQ R11, R13
	INCQ BX
	JMP  lgwrows

lgwstore:
	STORE16D(Z0, Z2, Y0, Y2, DI)
	ADDQ $64, DI
	ADDQ $64, DX
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  lgwcols

lgwdone:
	VZEROUPPER
	RET

// SUM16PD leaves in X8 the sum of the sixteen doubles of Z6 (lanes 0-7
// of a row) and Z7 (lanes 8-15) in the order of sum16 (attention.go):
// lanes j and j+8, then j and j+4, j and j+2, and the last two. Clobbers
// Z9.
#define SUM16PD \
	VADDPD        Z7, Z6, Z8; \
	VEXTRACTF64X4 $1, Z8, Y9; \
	VADDPD        Y9, Y8, Y8; \
	VEXTRACTF128  $1, Y8, X9; \
	VADDPD        X9, X8, X8; \
	VPERMILPD     $1, X8, X9; \
	VADDSD        X9, X8, X8

// func ssoftmaxRows16(p unsafe.Pointer, rows, s int, causal bool, c *[12]float32)
//
// softmaxRow32 of each of rows rows of s ≤ 16 elements (row r at p + 4rs),
// the first n taken: n = s, or min(r+1, s) when causal. Per row: the
// maximum, e^(x - max) by expNeg32's float32 operations in its order (no
// FMA: each product rounded), their sum in float64 by the tree of sum16,
// and each e times 1/sum in float64, rounded to float32; lanes n to s get
// 0. c holds expNeg32's constants: log2e, 1.5·2²³, ln2hi, ln2lo, the
// polynomial's 1/5040 ... 1/2, 1, and the cut -87.3.
TEXT ·ssoftmaxRows16(SB), NOSPLIT, $0-40
	MOVQ p+0(FP), SI
	MOVQ rows+8(FP), BX
	MOVQ s+16(FP), CX
	MOVBLZX causal+24(FP), R8
	MOVQ c+32(FP), DX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K4 // the s lanes stored
	VBROADCASTSS 0(DX), Z20
	VBROADCASTSS 4(DX), Z21
	VBROADCASTSS 8(DX), Z22
	VBROADCASTSS 12(DX), Z23
	VBROADCASTSS 16(DX), Z24
	VBROADCASTSS 20(DX), Z25
	VBROADCASTSS 24(DX), Z26
	VBROADCASTSS 28(DX), Z27
	VBROADCASTSS 32(DX), Z28
	VBROADCASTSS 36(DX), Z29
	VBROADCASTSS 40(DX), Z30
	VBROADCASTSS 44(DX), Z31
	MOVL $0xff800000, AX
	VPBROADCASTD AX, Z19 // -Inf
	MOVL $127, AX
	VPBROADCASTD AX, Z18
	MOVQ $0x3ff0000000000000, AX
	VMOVQ AX, X17 // 1.0
	MOVQ CX, R12 // s
	MOVQ CX, R9
	SHLQ $2, R9 // the row stride in bytes
	MOVQ CX, R10 // n when not causal
	XORQ R11, R11 // r
	TESTQ BX, BX
	JZ    smdone

smloop:
	TESTQ R8, R8
	JZ    smwidth
	LEAQ 1(R11), R10
	CMPQ R10, R12
	JLE  smwidth
	MOVQ R12, R10

smwidth:
	MOVQ R10, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1 // the n lanes taken

	// The maximum: lanes past n hold -Inf.
	VMOVAPS Z19, Z0
	VMOVUPS (SI), K1, Z0
	VSHUFF32X4 $0x4E, Z0, Z0, Z1
	VMAXPS Z1, Z0, Z1
	VSHUFF32X4 $0xB1, Z1, Z1, Z2
	VMAXPS Z2, Z1, Z2
	VPERMILPS $0x4E, Z2, Z3
	VMAXPS Z3, Z2, Z3
	VPERMILPS $0xB1, Z3, Z4
	VMAXPS Z4, Z3, Z4
	VSUBPS Z4, Z0, Z0 // x

	// e^x as expNeg32.
	VMULPS Z20, Z0, Z1
	VADDPS Z21, Z1, Z1
	VSUBPS Z21, Z1, Z1 // k
	VMULPS Z22, Z1, Z2
	VSUBPS Z2, Z0, Z2 // r = x - k·ln2hi
	VMULPS Z23, Z1, Z3
	VSUBPS Z3, Z2, Z2 // r -= k·ln2lo
	VMULPS Z2, Z24, Z3
	VADDPS Z25, Z3, Z3
	VMULPS Z2, Z3, Z3
	VADDPS Z26, Z3, Z3
	VMULPS Z2, Z3, Z3
	VADDPS Z27, Z3, Z3
	VMULPS Z2, Z3, Z3
	VADDPS Z28, Z3, Z3
	VMULPS Z2, Z3, Z3
	VADDPS Z29, Z3, Z3
	VMULPS Z2, Z3, Z3
	VADDPS Z30, Z3, Z3
	VMULPS Z2, Z3, Z3
	VADDPS Z30, Z3, Z3 // p
	VCVTPS2DQ Z1, Z4
	VPADDD Z18, Z4, Z4
	VPSLLD $23, Z4, Z4
	VMULPS Z4, Z3, Z3 // p·2^k
	// Below the cut 0, NaN stays NaN, and lanes past n 0.
	VCMPPS $0x1E, Z31, Z0, K1, K2 // x > cut (ordered), within n
	VMOVAPS.Z Z3, K2, Z3
	VCMPPS $3, Z0, Z0, K1, K3 // x is NaN, within n
	VMOVAPS Z0, K3, Z3

	// The sum in float64.
	VCVTPS2PD Y3, Z6
	VEXTRACTF64X4 $1, Z3, Y7
	VCVTPS2PD Y7, Z7
	SUM16PD
	VDIVSD X8, X17, X9 // 1/sum
	VBROADCASTSD X9, Z9
	VMULPD Z9, Z6, Z6
	VMULPD Z9, Z7, Z7
	VCVTPD2PS Z6, Y6
	VCVTPD2PS Z7, Y7
	VINSERTF64X4 $1, Y7, Z6, Z6
	VMOVAPS.Z Z6, K1, Z6 // 0 past n even when the sum is NaN
	VMOVUPS Z6, K4, (SI)
	ADDQ R9, SI
	INCQ R11
	CMPQ R11, BX
	JLT  smloop

smdone:
	VZEROUPPER
	RET

// func sattnGradRows16(ds, p unsafe.Pointer, rows, s int, scale float64)
//
// AttentionBackwardScores' rows of s ≤ 16 scores, ds holding dP = dy vᵀ:
// dot = Σ_j ds[j]·p[j] in float64 (the products are exact) by the tree of
// sum16, then ds[j] = float32(p[j]·(ds[j] - dot)·scale), row after row.
TEXT ·sattnGradRows16(SB), NOSPLIT, $0-40
	MOVQ ds+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ rows+16(FP), DX
	MOVQ s+24(FP), CX
	VBROADCASTSD scale+32(FP), Z20
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	SHLQ $2, CX // the row stride in bytes
	TESTQ DX, DX
	JZ    agdone

agloop:
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VCVTPS2PD Y0, Z2 // x, lanes 0-7
	VEXTRACTF64X4 $1, Z0, Y0
	VCVTPS2PD Y0, Z3 // x, lanes 8-15
	VCVTPS2PD Y1, Z4 // p
	VEXTRACTF64X4 $1, Z1, Y1
	VCVTPS2PD Y1, Z5
	VMULPD Z4, Z2, Z6
	VMULPD Z5, Z3, Z7
	SUM16PD
	VBROADCASTSD X8, Z8 // dot
	VSUBPD Z8, Z2, Z2
	VSUBPD Z8, Z3, Z3
	VMULPD Z2, Z4, Z2
	VMULPD Z3, Z5, Z3
	VMULPD Z20, Z2, Z2
	VMULPD Z20, Z3, Z3
	VCVTPD2PS Z2, Y2
	VCVTPD2PS Z3, Y3
	VINSERTF64X4 $1, Y3, Z2, Z2
	VMOVUPS Z2, K1, (DI)
	ADDQ CX, DI
	ADDQ CX, SI
	DECQ DX
	JNZ  agloop

agdone:
	VZEROUPPER
	RET
