//go:build amd64 && !purego

#include "textflag.h"

// AVX2 and FMA float32 kernels for GEMM, for amd64 machines without
// AVX-512 (cpu.X86.HasAVX2 && HasFMA); sgemm_avx2_amd64.go drives them.
// Without mask registers they compute whole tiles into a buffer and leave
// the edges and the epilogue to Go.

// func sgemmNN6x16(k int, a0, a1, a2, a3, a4, a5 unsafe.Pointer, astep uintptr, b unsafe.Pointer, bstep uintptr, tile *[96]float32)
//
// tile[16r+j] = Σ_p A(r, p)·B(p, j) for r < 6, j < 16, p < k: A(r, p) at
// a_r + p·astep bytes, B(p, j) at b + p·bstep + 4j (all 16 readable).
TEXT ·sgemmNN6x16(SB), NOSPLIT, $0-88
	MOVQ k+0(FP), CX
	MOVQ a0+8(FP), SI
	MOVQ a1+16(FP), BX
	MOVQ a2+24(FP), DX
	MOVQ a3+32(FP), R8
	MOVQ a4+40(FP), R9
	MOVQ a5+48(FP), R10
	MOVQ astep+56(FP), R12
	MOVQ b+64(FP), DI
	MOVQ bstep+72(FP), R11
	XORQ AX, AX

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	TESTQ  CX, CX
	JZ     a2store

a2loop:
	VMOVUPS      (DI), Y12
	VMOVUPS      32(DI), Y13
	VBROADCASTSS (SI)(AX*1), Y14
	VBROADCASTSS (BX)(AX*1), Y15
	VFMADD231PS  Y12, Y14, Y0
	VFMADD231PS  Y13, Y14, Y1
	VFMADD231PS  Y12, Y15, Y2
	VFMADD231PS  Y13, Y15, Y3
	VBROADCASTSS (DX)(AX*1), Y14
	VBROADCASTSS (R8)(AX*1), Y15
	VFMADD231PS  Y12, Y14, Y4
	VFMADD231PS  Y13, Y14, Y5
	VFMADD231PS  Y12, Y15, Y6
	VFMADD231PS  Y13, Y15, Y7
	VBROADCASTSS (R9)(AX*1), Y14
	VBROADCASTSS (R10)(AX*1), Y15
	VFMADD231PS  Y12, Y14, Y8
	VFMADD231PS  Y13, Y14, Y9
	VFMADD231PS  Y12, Y15, Y10
	VFMADD231PS  Y13, Y15, Y11
	ADDQ         R12, AX
	ADDQ         R11, DI
	DECQ         CX
	JNZ          a2loop

a2store:
	MOVQ    tile+80(FP), DI
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	VMOVUPS Y8, 256(DI)
	VMOVUPS Y9, 288(DI)
	VMOVUPS Y10, 320(DI)
	VMOVUPS Y11, 352(DI)
	VZEROUPPER
	RET

// HSUM1 leaves in the low lane of x the sum of the eight lanes of y, the
// Y register whose low half is x. Clobbers X15.
#define HSUM1(y, x) \
	VEXTRACTF128 $1, y, X15; \
	VADDPS       X15, x, x; \
	VHADDPS      x, x, x; \
	VHADDPS      x, x, x

// func sdotNT4x3(k int, a0, a1, a2, a3, b0, b1, b2 unsafe.Pointer, out *[12]float32)
//
// out[3r+j] = Σ_p a_r[p]·b_j[p] for p < k, k a multiple of 8: twelve dot
// products of four rows of A with three rows of B.
TEXT ·sdotNT4x3(SB), NOSPLIT, $0-72
	MOVQ k+0(FP), CX
	MOVQ a0+8(FP), SI
	MOVQ a1+16(FP), BX
	MOVQ a2+24(FP), DX
	MOVQ a3+32(FP), R8
	MOVQ b0+40(FP), R9
	MOVQ b1+48(FP), R10
	MOVQ b2+56(FP), R11
	XORQ AX, AX

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	SHRQ   $3, CX
	JZ     d2store

d2loop:
	VMOVUPS     (R9)(AX*1), Y12
	VMOVUPS     (R10)(AX*1), Y13
	VMOVUPS     (R11)(AX*1), Y14
	VMOVUPS     (SI)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y0
	VFMADD231PS Y13, Y15, Y1
	VFMADD231PS Y14, Y15, Y2
	VMOVUPS     (BX)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y3
	VFMADD231PS Y13, Y15, Y4
	VFMADD231PS Y14, Y15, Y5
	VMOVUPS     (DX)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VFMADD231PS Y14, Y15, Y8
	VMOVUPS     (R8)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y9
	VFMADD231PS Y13, Y15, Y10
	VFMADD231PS Y14, Y15, Y11
	ADDQ        $32, AX
	DECQ        CX
	JNZ         d2loop

d2store:
	MOVQ out+64(FP), DI
	HSUM1(Y0, X0)
	VMOVSS X0, (DI)
	HSUM1(Y1, X1)
	VMOVSS X1, 4(DI)
	HSUM1(Y2, X2)
	VMOVSS X2, 8(DI)
	HSUM1(Y3, X3)
	VMOVSS X3, 12(DI)
	HSUM1(Y4, X4)
	VMOVSS X4, 16(DI)
	HSUM1(Y5, X5)
	VMOVSS X5, 20(DI)
	HSUM1(Y6, X6)
	VMOVSS X6, 24(DI)
	HSUM1(Y7, X7)
	VMOVSS X7, 28(DI)
	HSUM1(Y8, X8)
	VMOVSS X8, 32(DI)
	HSUM1(Y9, X9)
	VMOVSS X9, 36(DI)
	HSUM1(Y10, X10)
	VMOVSS X10, 40(DI)
	HSUM1(Y11, X11)
	VMOVSS X11, 44(DI)
	VZEROUPPER
	RET

// func sdotNT1x8AVX2(k int, a, b unsafe.Pointer, ldb uintptr, out *[8]float32)
//
// out[j] = Σ_p a[p]·b_j[p] for p < k (a multiple of 8), b_j at b + j·ldb
// bytes: one row of A against eight rows of B (batch-1 inference).
TEXT ·sdotNT1x8AVX2(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), R8
	MOVQ ldb+24(FP), BX
	LEAQ (BX)(BX*2), R12 // 3·ldb
	LEAQ (R8)(BX*4), R9  // row 4
	XORQ AX, AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	SHRQ   $3, CX
	JZ     o2store

o2loop:
	VMOVUPS     (SI)(AX*1), Y8
	LEAQ        (R8)(AX*1), DX
	VFMADD231PS (DX), Y8, Y0
	VFMADD231PS (DX)(BX*1), Y8, Y1
	VFMADD231PS (DX)(BX*2), Y8, Y2
	VFMADD231PS (DX)(R12*1), Y8, Y3
	LEAQ        (R9)(AX*1), DX
	VFMADD231PS (DX), Y8, Y4
	VFMADD231PS (DX)(BX*1), Y8, Y5
	VFMADD231PS (DX)(BX*2), Y8, Y6
	VFMADD231PS (DX)(R12*1), Y8, Y7
	ADDQ        $32, AX
	DECQ        CX
	JNZ         o2loop

o2store:
	MOVQ out+32(FP), DI
	HSUM1(Y0, X0)
	VMOVSS X0, (DI)
	HSUM1(Y1, X1)
	VMOVSS X1, 4(DI)
	HSUM1(Y2, X2)
	VMOVSS X2, 8(DI)
	HSUM1(Y3, X3)
	VMOVSS X3, 12(DI)
	HSUM1(Y4, X4)
	VMOVSS X4, 16(DI)
	HSUM1(Y5, X5)
	VMOVSS X5, 20(DI)
	HSUM1(Y6, X6)
	VMOVSS X6, 24(DI)
	HSUM1(Y7, X7)
	VMOVSS X7, 28(DI)
	VZEROUPPER
	RET
