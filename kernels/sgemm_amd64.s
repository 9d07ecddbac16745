//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 float32 kernels for GEMM, called from sgemm_amd64.go only on
// machines whose CPU and OS support AVX-512F (cpu.X86.HasAVX512F).

// ZERO16 clears the sixteen accumulators Z0-Z15.
#define ZERO16 \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15

// func sgemmNN8x32(k int, a0, a1, a2, a3, a4, a5, a6, a7 unsafe.Pointer, astep uintptr, b unsafe.Pointer, bstep uintptr, c unsafe.Pointer, ldc uintptr, bias unsafe.Pointer, masks uint64, rows int, bmask uint32, alpha, floor float32)
//
// An 8×32 tile of C, every length in bytes:
//
//	acc[r][j] = Σ_p A(r, p)·B(p, j), A(r, p) at a_r + p·astep,
//	                                  B(p, j) at b + p·bstep + 4j
//	C[r][j] (at c + r·ldc + 4j) = alpha·acc[r][j] + C[r][j]·[C is read] + bias[j]·[bias is read]
//	C[r][j] = max(floor, C[r][j])
//
// for rows r < rows (1..8; the pointers of the rows past them may repeat
// a row before) and the columns j of the masks. masks holds four 16-bit
// masks: bits 0-15 and 16-31 are the columns 0-15 and 16-31 of B and C
// that are loaded and stored; bits 32-47 and 48-63 those where C is read
// before it is written (none when the product replaces C, which may then
// hold garbage). bmask holds the columns of bias that are read. floor is 0
// for ReLU, -Inf for none; VMAXPS with the value as its second source
// keeps NaN. A column mask of 16 or fewer lanes runs a loop of one vector.
TEXT ·sgemmNN8x32(SB), NOSPLIT, $0-148
	MOVQ k+0(FP), CX
	MOVQ a0+8(FP), SI
	MOVQ a1+16(FP), BX
	MOVQ a2+24(FP), DX
	MOVQ a3+32(FP), R8
	MOVQ a4+40(FP), R9
	MOVQ a5+48(FP), R10
	MOVQ a6+56(FP), R11
	MOVQ a7+64(FP), R13
	MOVQ astep+72(FP), R12
	MOVQ b+80(FP), DI
	MOVQ bstep+88(FP), R14
	MOVQ masks+120(FP), AX
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	SHRQ $16, AX
	KMOVW AX, K3
	SHRQ $16, AX
	KMOVW AX, K4
	XORQ AX, AX // offset into the rows of A

	ZERO16

	TESTQ CX, CX
	JZ    nnstore
	KORTESTW K2, K2
	JZ    nnloop16

	// Each element of A is broadcast once into a register for its two
	// FMAs: as a memory operand of both (.BCST) it was loaded twice, 18
	// loads for 16 FMAs, and the loop was bound by the load ports, not the
	// two FMA ports (512×64×64 products ran 15-40% slower). The sums are
	// the same operations in the same order.
nnloop:
	VMOVUPS.Z (DI), K1, Z16
	VMOVUPS.Z 64(DI), K2, Z17
	VBROADCASTSS (SI)(AX*1), Z18
	VFMADD231PS Z18, Z16, Z0
	VFMADD231PS Z18, Z17, Z1
	VBROADCASTSS (BX)(AX*1), Z19
	VFMADD231PS Z19, Z16, Z2
	VFMADD231PS Z19, Z17, Z3
	VBROADCASTSS (DX)(AX*1), Z18
	VFMADD231PS Z18, Z16, Z4
	VFMADD231PS Z18, Z17, Z5
	VBROADCASTSS (R8)(AX*1), Z19
	VFMADD231PS Z19, Z16, Z6
	VFMADD231PS Z19, Z17, Z7
	VBROADCASTSS (R9)(AX*1), Z18
	VFMADD231PS Z18, Z16, Z8
	VFMADD231PS Z18, Z17, Z9
	VBROADCASTSS (R10)(AX*1), Z19
	VFMADD231PS Z19, Z16, Z10
	VFMADD231PS Z19, Z17, Z11
	VBROADCASTSS (R11)(AX*1), Z18
	VFMADD231PS Z18, Z16, Z12
	VFMADD231PS Z18, Z17, Z13
	VBROADCASTSS (R13)(AX*1), Z19
	VFMADD231PS Z19, Z16, Z14
	VFMADD231PS Z19, Z17, Z15
	ADDQ R12, AX
	ADDQ R14, DI
	DECQ CX
	JNZ  nnloop
	JMP  nnstore

	// At most 16 columns: the same without the second vector.
nnloop16:
	VMOVUPS.Z (DI), K1, Z16
	VFMADD231PS.BCST (SI)(AX*1), Z16, Z0
	VFMADD231PS.BCST (BX)(AX*1), Z16, Z2
	VFMADD231PS.BCST (DX)(AX*1), Z16, Z4
	VFMADD231PS.BCST (R8)(AX*1), Z16, Z6
	VFMADD231PS.BCST (R9)(AX*1), Z16, Z8
	VFMADD231PS.BCST (R10)(AX*1), Z16, Z10
	VFMADD231PS.BCST (R11)(AX*1), Z16, Z12
	VFMADD231PS.BCST (R13)(AX*1), Z16, Z14
	ADDQ R12, AX
	ADDQ R14, DI
	DECQ CX
	JNZ  nnloop16

nnstore:
	MOVQ  c+96(FP), DX
	MOVQ  ldc+104(FP), R13
	MOVQ  bias+112(FP), BX
	MOVL  bmask+136(FP), AX
	KMOVW AX, K5
	SHRL  $16, AX
	KMOVW AX, K6
	MOVQ  rows+128(FP), CX
	VBROADCASTSS alpha+140(FP), Z30
	VBROADCASTSS floor+144(FP), Z31
	VMOVUPS.Z (BX), K5, Z28
	VMOVUPS.Z 64(BX), K6, Z29

// STORE32R finishes one row of the tile, held in lo and hi: alpha·acc +
// C (where K3, K4) + bias (Z28, Z29), at least floor (Z31), into C at DX
// (lanes K1, K2); then DX moves to the next row. STORE32 does not read C;
// STORE16R and STORE16 are for one vector.
#define STORE32R(lo, hi) \
	VMOVUPS.Z (DX), K3, Z26; \
	VMOVUPS.Z 64(DX), K4, Z27; \
	VFMADD231PS lo, Z30, Z26; \
	VFMADD231PS hi, Z30, Z27; \
	VADDPS Z28, Z26, Z26; \
	VADDPS Z29, Z27, Z27; \
	VMAXPS Z26, Z31, Z26; \
	VMAXPS Z27, Z31, Z27; \
	VMOVUPS Z26, K1, (DX); \
	VMOVUPS Z27, K2, 64(DX); \
	ADDQ R13, DX

#define STORE32(lo, hi) \
	VFMADD213PS Z28, Z30, lo; \
	VFMADD213PS Z29, Z30, hi; \
	VMAXPS lo, Z31, lo; \
	VMAXPS hi, Z31, hi; \
	VMOVUPS lo, K1, (DX); \
	VMOVUPS hi, K2, 64(DX); \
	ADDQ R13, DX

#define STORE16R(lo) \
	VMOVUPS.Z (DX), K3, Z26; \
	VFMADD231PS lo, Z30, Z26; \
	VADDPS Z28, Z26, Z26; \
	VMAXPS Z26, Z31, Z26; \
	VMOVUPS Z26, K1, (DX); \
	ADDQ R13, DX

#define STORE16(lo) \
	VFMADD213PS Z28, Z30, lo; \
	VMAXPS lo, Z31, lo; \
	VMOVUPS lo, K1, (DX); \
	ADDQ R13, DX

	// Four versions of the stores: one vector or two, C read or not. A
	// load or store whose span overlaps a store just made stalls it,
	// masked off or not: narrow C rows are close together.
	KORTESTW K3, K3
	JZ   nnnoread
	KORTESTW K2, K2
	JZ   nnstore16r
	JMP  nnstore32r

nnnoread:
	KORTESTW K2, K2
	JZ   nnstore16

nnstore32:
	STORE32(Z0, Z1)
	DECQ CX
	JZ   nndone
	STORE32(Z2, Z3)
	DECQ CX
	JZ   nndone
	STORE32(Z4, Z5)
	DECQ CX
	JZ   nndone
	STORE32(Z6, Z7)
	DECQ CX
	JZ   nndone
	STORE32(Z8, Z9)
	DECQ CX
	JZ   nndone
	STORE32(Z10, Z11)
	DECQ CX
	JZ   nndone
	STORE32(Z12, Z13)
	DECQ CX
	JZ   nndone
	STORE32(Z14, Z15)
	JMP  nndone

nnstore16:
	STORE16(Z0)
	DECQ CX
	JZ   nndone
	STORE16(Z2)
	DECQ CX
	JZ   nndone
	STORE16(Z4)
	DECQ CX
	JZ   nndone
	STORE16(Z6)
	DECQ CX
	JZ   nndone
	STORE16(Z8)
	DECQ CX
	JZ   nndone
	STORE16(Z10)
	DECQ CX
	JZ   nndone
	STORE16(Z12)
	DECQ CX
	JZ   nndone
	STORE16(Z14)
	JMP  nndone

nnstore32r:
	STORE32R(Z0, Z1)
	DECQ CX
	JZ   nndone
	STORE32R(Z2, Z3)
	DECQ CX
	JZ   nndone
	STORE32R(Z4, Z5)
	DECQ CX
	JZ   nndone
	STORE32R(Z6, Z7)
	DECQ CX
	JZ   nndone
	STORE32R(Z8, Z9)
	DECQ CX
	JZ   nndone
	STORE32R(Z10, Z11)
	DECQ CX
	JZ   nndone
	STORE32R(Z12, Z13)
	DECQ CX
	JZ   nndone
	STORE32R(Z14, Z15)
	JMP  nndone

nnstore16r:
	STORE16R(Z0)
	DECQ CX
	JZ   nndone
	STORE16R(Z2)
	DECQ CX
	JZ   nndone
	STORE16R(Z4)
	DECQ CX
	JZ   nndone
	STORE16R(Z6)
	DECQ CX
	JZ   nndone
	STORE16R(Z8)
	DECQ CX
	JZ   nndone
	STORE16R(Z10)
	DECQ CX
	JZ   nndone
	STORE16R(Z12)
	DECQ CX
	JZ   nndone
	STORE16R(Z14)
	JMP  nndone

nndone:
	VZEROUPPER
	RET

// REDUCE4 sums each of the four vectors a, b, c, d (all 16 lanes) and
// leaves the four sums in the low register of a as [Σa, Σb, Σc, Σd].
// Clobbers Y16 and X17.
#define REDUCE4(za, zb, zc, zd, ya, yb, yc, yd, xa, xb, xc, xd) \
	VEXTRACTF64X4 $1, za, Y16; \
	VADDPS Y16, ya, ya; \
	VEXTRACTF64X4 $1, zb, Y16; \
	VADDPS Y16, yb, yb; \
	VEXTRACTF64X4 $1, zc, Y16; \
	VADDPS Y16, yc, yc; \
	VEXTRACTF64X4 $1, zd, Y16; \
	VADDPS Y16, yd, yd; \
	VEXTRACTF32X4 $1, ya, X17; \
	VADDPS X17, xa, xa; \
	VEXTRACTF32X4 $1, yb, X17; \
	VADDPS X17, xb, xb; \
	VEXTRACTF32X4 $1, yc, X17; \
	VADDPS X17, xc, xc; \
	VEXTRACTF32X4 $1, yd, X17; \
	VADDPS X17, xd, xd; \
	VHADDPS xb, xa, xa; \
	VHADDPS xd, xc, xc; \
	VHADDPS xc, xa, xa

// FINISH stores alpha·v (+ C where K3) (+ bias) floored at floor into the
// lanes K1 of C at DX, through the scratch register t; all registers X, or
// all Y.
#define FINISH(v, t, alpha, floor, bias) \
	VMOVUPS.Z (DX), K3, t; \
	VFMADD231PS v, alpha, t; \
	VADDPS bias, t, t; \
	VMAXPS t, floor, t; \
	VMOVUPS t, K1, (DX)

// func sdotNT4x4(k int, a0, a1, a2, a3, b0, b1, b2, b3, c unsafe.Pointer, ldc uintptr, bias unsafe.Pointer, rows int, masks uint32, alpha, floor float32)
//
// A 4×4 tile of C = A·Bᵀ as sixteen dot products of four rows of A with
// four rows of B, each contiguous: acc[r][j] = Σ_p a_r[p]·b_j[p] for p < k,
// then C[r][j] (at c + r·ldc bytes + 4j) is finished as by sgemmNN8x32
// for the rows r < rows (1 to 4).
// masks holds three 8-bit lane masks: bits 0-7 the columns stored, 8-15
// those where C is read first, 16-23 those where bias is read.
TEXT ·sdotNT4x4(SB), NOSPLIT, $0-116
	MOVQ k+0(FP), CX
	MOVQ a0+8(FP), SI
	MOVQ a1+16(FP), DI
	MOVQ a2+24(FP), R8
	MOVQ a3+32(FP), R9
	MOVQ b0+40(FP), R10
	MOVQ b1+48(FP), R11
	MOVQ b2+56(FP), R12
	MOVQ b3+64(FP), R13
	XORQ AX, AX

	ZERO16

	// K1: all 16 lanes in the main loop; the tail's lanes after it.
	MOVL  $0xffff, BX
	KMOVW BX, K1

nt4loop:
	CMPQ CX, $16
	JLT  nt4tail

nt4body:
	VMOVUPS.Z (R10)(AX*1), K1, Z20
	VMOVUPS.Z (R11)(AX*1), K1, Z21
	VMOVUPS.Z (R12)(AX*1), K1, Z22
	VMOVUPS.Z (R13)(AX*1), K1, Z23
	VMOVUPS.Z (SI)(AX*1), K1, Z16
	VFMADD231PS Z20, Z16, Z0
	VFMADD231PS Z21, Z16, Z1
	VFMADD231PS Z22, Z16, Z2
	VFMADD231PS Z23, Z16, Z3
	VMOVUPS.Z (DI)(AX*1), K1, Z17
	VFMADD231PS Z20, Z17, Z4
	VFMADD231PS Z21, Z17, Z5
	VFMADD231PS Z22, Z17, Z6
	VFMADD231PS Z23, Z17, Z7
	VMOVUPS.Z (R8)(AX*1), K1, Z18
	VFMADD231PS Z20, Z18, Z8
	VFMADD231PS Z21, Z18, Z9
	VFMADD231PS Z22, Z18, Z10
	VFMADD231PS Z23, Z18, Z11
	VMOVUPS.Z (R9)(AX*1), K1, Z19
	VFMADD231PS Z20, Z19, Z12
	VFMADD231PS Z21, Z19, Z13
	VFMADD231PS Z22, Z19, Z14
	VFMADD231PS Z23, Z19, Z15
	ADDQ $64, AX
	SUBQ $16, CX
	JMP  nt4loop

nt4tail:
	TESTQ CX, CX
	JZ    nt4reduce
	MOVL  $1, BX
	SHLL  CX, BX
	DECL  BX
	KMOVW BX, K1
	MOVQ  $16, CX
	JMP   nt4body

nt4reduce:
	REDUCE4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, X2, X3)
	REDUCE4(Z4, Z5, Z6, Z7, Y4, Y5, Y6, Y7, X4, X5, X6, X7)
	REDUCE4(Z8, Z9, Z10, Z11, Y8, Y9, Y10, Y11, X8, X9, X10, X11)
	REDUCE4(Z12, Z13, Z14, Z15, Y12, Y13, Y14, Y15, X12, X13, X14, X15)
	MOVQ c+72(FP), DX
	MOVQ ldc+80(FP), R13
	MOVQ bias+88(FP), BX
	MOVQ rows+96(FP), CX
	MOVL masks+104(FP), AX
	KMOVW AX, K1
	SHRL  $8, AX
	KMOVW AX, K3
	SHRL  $8, AX
	KMOVW AX, K5
	VBROADCASTSS alpha+108(FP), Y20
	VBROADCASTSS floor+112(FP), Y21
	VMOVUPS.Z (BX), K5, Y22
	FINISH(X0, X23, X20, X21, X22)
	DECQ CX
	JZ   nt4done
	ADDQ R13, DX
	FINISH(X4, X23, X20, X21, X22)
	DECQ CX
	JZ   nt4done
	ADDQ R13, DX
	FINISH(X8, X23, X20, X21, X22)
	DECQ CX
	JZ   nt4done
	ADDQ R13, DX
	FINISH(X12, X23, X20, X21, X22)

nt4done:
	VZEROUPPER
	RET

// func sdotNT1x8(k int, a, b unsafe.Pointer, ldb uintptr, c, bias unsafe.Pointer, masks uint32, alpha, floor float32)
//
// acc[j] = Σ_p a[p]·b_j[p] for p < k, b_j at b + j·ldb bytes: one row of A
// against eight rows of B, two accumulators per row; C[j] at c + 4j is
// finished as by sdotNT4x4, with its masks.
TEXT ·sdotNT1x8(SB), NOSPLIT, $0-60
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), R8
	MOVQ ldb+24(FP), BX
	LEAQ (BX)(BX*2), R12 // 3·ldb
	LEAQ (R8)(BX*4), R9  // row 4
	XORQ AX, AX

	ZERO16

nt1loop32:
	CMPQ CX, $32
	JLT  nt1loop16
	VMOVUPS (SI)(AX*1), Z16
	VMOVUPS 64(SI)(AX*1), Z17
	LEAQ    (R8)(AX*1), DX
	VFMADD231PS (DX), Z16, Z0
	VFMADD231PS 64(DX), Z17, Z8
	VFMADD231PS (DX)(BX*1), Z16, Z1
	VFMADD231PS 64(DX)(BX*1), Z17, Z9
	VFMADD231PS (DX)(BX*2), Z16, Z2
	VFMADD231PS 64(DX)(BX*2), Z17, Z10
	VFMADD231PS (DX)(R12*1), Z16, Z3
	VFMADD231PS 64(DX)(R12*1), Z17, Z11
	LEAQ    (R9)(AX*1), DX
	VFMADD231PS (DX), Z16, Z4
	VFMADD231PS 64(DX), Z17, Z12
	VFMADD231PS (DX)(BX*1), Z16, Z5
	VFMADD231PS 64(DX)(BX*1), Z17, Z13
	VFMADD231PS (DX)(BX*2), Z16, Z6
	VFMADD231PS 64(DX)(BX*2), Z17, Z14
	VFMADD231PS (DX)(R12*1), Z16, Z7
	VFMADD231PS 64(DX)(R12*1), Z17, Z15
	ADDQ $128, AX
	SUBQ $32, CX
	JMP  nt1loop32

nt1loop16:
	MOVL  $0xffff, DX
	CMPQ  CX, $16
	JGE   nt1last
	TESTQ CX, CX
	JZ    nt1reduce
	MOVL  $1, DX
	SHLL  CX, DX
	DECL  DX

nt1last:
	KMOVW DX, K1
	VMOVUPS.Z (SI)(AX*1), K1, Z16
	LEAQ      (R8)(AX*1), DX
	VMOVUPS.Z (DX), K1, Z20
	VFMADD231PS Z20, Z16, Z0
	VMOVUPS.Z (DX)(BX*1), K1, Z21
	VFMADD231PS Z21, Z16, Z1
	VMOVUPS.Z (DX)(BX*2), K1, Z22
	VFMADD231PS Z22, Z16, Z2
	VMOVUPS.Z (DX)(R12*1), K1, Z23
	VFMADD231PS Z23, Z16, Z3
	LEAQ      (R9)(AX*1), DX
	VMOVUPS.Z (DX), K1, Z20
	VFMADD231PS Z20, Z16, Z4
	VMOVUPS.Z (DX)(BX*1), K1, Z21
	VFMADD231PS Z21, Z16, Z5
	VMOVUPS.Z (DX)(BX*2), K1, Z22
	VFMADD231PS Z22, Z16, Z6
	VMOVUPS.Z (DX)(R12*1), K1, Z23
	VFMADD231PS Z23, Z16, Z7
	ADDQ $64, AX
	SUBQ $16, CX
	JG   nt1loop16

nt1reduce:
	VADDPS Z8, Z0, Z0
	VADDPS Z9, Z1, Z1
	VADDPS Z10, Z2, Z2
	VADDPS Z11, Z3, Z3
	VADDPS Z12, Z4, Z4
	VADDPS Z13, Z5, Z5
	VADDPS Z14, Z6, Z6
	VADDPS Z15, Z7, Z7
	REDUCE4(Z0, Z1, Z2, Z3, Y0, Y1, Y2, Y3, X0, X1, X2, X3)
	REDUCE4(Z4, Z5, Z6, Z7, Y4, Y5, Y6, Y7, X4, X5, X6, X7)
	VINSERTF32X4 $1, X4, Y0, Y0
	MOVQ c+32(FP), DX
	MOVQ bias+40(FP), BX
	MOVL masks+48(FP), AX
	KMOVW AX, K1
	SHRL  $8, AX
	KMOVW AX, K3
	SHRL  $8, AX
	KMOVW AX, K5
	VBROADCASTSS alpha+52(FP), Y20
	VBROADCASTSS floor+56(FP), Y21
	VMOVUPS.Z (BX), K5, Y22
	FINISH(Y0, Y23, Y20, Y21, Y22)
	VZEROUPPER
	RET

// func sfinite(x unsafe.Pointer, n int) bool
//
// Reports whether the n float32 at x are all finite: Σ x·0 is 0 when they
// are and NaN when one is an infinity or a NaN.
TEXT ·sfinite(SB), NOSPLIT, $0-17
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4

fin64:
	CMPQ CX, $64
	JLT  fin16
	VFMADD231PS (SI), Z4, Z0
	VFMADD231PS 64(SI), Z4, Z1
	VFMADD231PS 128(SI), Z4, Z2
	VFMADD231PS 192(SI), Z4, Z3
	ADDQ $256, SI
	SUBQ $64, CX
	JMP  fin64

fin16:
	TESTQ CX, CX
	JLE   finsum
	MOVL  $0xffff, AX
	CMPQ  CX, $16
	JGE   finload
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX

finload:
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z5
	VFMADD231PS Z5, Z4, Z0
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  fin16

finsum:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	// An unordered lane (NaN) compares true with predicate 3.
	VCMPPS $3, Z0, Z0, K2
	KMOVW K2, AX
	TESTL AX, AX
	SETEQ ret+16(FP)
	VZEROUPPER
	RET

// func stranspose8(bt, b unsafe.Pointer, k int, ldb, ldt uintptr)
//
// Transposes 8 rows of b, ldb bytes apart, into 8 columns of bt, whose
// rows are ldt bytes apart: bt[p][j] = b[j][p] for j < 8 and p < k, k a
// multiple of 8 (the caller does the rest), an 8×8 block at a time in
// registers (unpack, shuffle, then swap the 128-bit halves) instead of
// one element at a time. AVX, which every AVX-512 machine has.
TEXT ·stranspose8(SB), NOSPLIT, $0-40
	MOVQ bt+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ k+16(FP), CX
	MOVQ ldb+24(FP), R8
	MOVQ ldt+32(FP), R9
	LEAQ (R8)(R8*2), R11 // 3·ldb
	LEAQ (R9)(R9*2), R10 // 3·ldt
	LEAQ (SI)(R8*4), BX  // row 4 of b
	SHRQ $3, CX
	JZ   trdone

trloop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R11*1), Y3
	VMOVUPS (BX), Y4
	VMOVUPS (BX)(R8*1), Y5
	VMOVUPS (BX)(R8*2), Y6
	VMOVUPS (BX)(R11*1), Y7
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	LEAQ (DI)(R9*4), DX
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(R9*1)
	VMOVUPS Y10, (DI)(R9*2)
	VMOVUPS Y11, (DI)(R10*1)
	VMOVUPS Y12, (DX)
	VMOVUPS Y13, (DX)(R9*1)
	VMOVUPS Y14, (DX)(R9*2)
	VMOVUPS Y15, (DX)(R10*1)
	LEAQ (DX)(R9*4), DI
	ADDQ $32, SI
	ADDQ $32, BX
	DECQ CX
	JNZ  trloop

trdone:
	VZEROUPPER
	RET
