//go:build amd64 && !purego

#include "textflag.h"

// AVX2 loops for machines without AVX-512, eight elements a step over the
// first n (a multiple of 8); elem_amd64.go does the rest in Go, with the
// same operations in the same order.

// func reluGradAVX2(dx, dy, x unsafe.Pointer, n int)
//
// dx = dy where x > 0 (ordered), else 0.
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   rg2done
	VXORPS Y0, Y0, Y0

rg2loop:
	VMOVUPS (DX), Y1
	VCMPPS  $0x1e, Y0, Y1, Y1
	VANDPS  (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNZ  rg2loop

rg2done:
	VZEROUPPER
	RET

// func finiteAVX2(x unsafe.Pointer, n int) bool
//
// Σ x·0 over the first n is 0 (all finite) or NaN.
TEXT ·finiteAVX2(SB), NOSPLIT, $0-17
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $3, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	TESTQ CX, CX
	JZ   fi2sum

fi2loop:
	VMULPS (SI), Y1, Y2
	VADDPS Y2, Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JNZ  fi2loop

fi2sum:
	VCMPPS    $3, Y0, Y0, Y0
	VMOVMSKPS Y0, AX
	TESTL     AX, AX
	SETEQ     ret+16(FP)
	VZEROUPPER
	RET

// func adamMAVX2(dst, m, grad unsafe.Pointer, n int, weight float32)
//
// dst = m + weight·(grad - m).
TEXT ·adamMAVX2(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ m+8(FP), SI
	MOVQ grad+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   am2done
	VBROADCASTSS weight+32(FP), Y0

am2loop:
	VMOVUPS (SI), Y1
	VMOVUPS (DX), Y2
	VSUBPS  Y1, Y2, Y2
	VMULPS  Y2, Y0, Y2
	VADDPS  Y2, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNZ  am2loop

am2done:
	VZEROUPPER
	RET

// func adamVAVX2(dst, v, grad unsafe.Pointer, n int, b2, one float32)
//
// dst = v·b2 + (one·grad)·grad.
TEXT ·adamVAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ grad+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   av2done
	VBROADCASTSS b2+32(FP), Y0
	VBROADCASTSS one+36(FP), Y3

av2loop:
	VMOVUPS (SI), Y1
	VMOVUPS (DX), Y2
	VMULPS  Y0, Y1, Y1
	VMULPS  Y3, Y2, Y4
	VMULPS  Y2, Y4, Y4
	VADDPS  Y4, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNZ  av2loop

av2done:
	VZEROUPPER
	RET

// func adamStepAVX2(dst, p, m, v unsafe.Pointer, n int, negStep, bc2Sqrt, eps, decay float32)
//
// dst = p·decay + (negStep·m) / (sqrt(v)/bc2Sqrt + eps).
TEXT ·adamStepAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), BX
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   as2done
	VBROADCASTSS negStep+40(FP), Y0
	VBROADCASTSS bc2Sqrt+44(FP), Y5
	VBROADCASTSS eps+48(FP), Y6
	VBROADCASTSS decay+52(FP), Y7

as2loop:
	VSQRTPS (BX), Y1
	VDIVPS  Y5, Y1, Y1
	VADDPS  Y6, Y1, Y1
	VMULPS  (DX), Y0, Y2
	VDIVPS  Y1, Y2, Y2
	VMULPS  (SI), Y7, Y3
	VADDPS  Y3, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, BX
	DECQ CX
	JNZ  as2loop

as2done:
	VZEROUPPER
	RET
