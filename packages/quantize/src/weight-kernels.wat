;; The hot loops of weight quantization, in WebAssembly SIMD: four float32 weights per instruction where the
;; JavaScript loops do one. `weight-kernels.ts` copies weights into this memory a block at a time, so each block is
;; read from cache, and calls these functions with byte offsets into it. After editing, run
;; `pnpm --filter @whittle/quantize assemble-kernels` to regenerate weight-kernels-binary.ts.
;;
;; Quantizing one value is QuantizeLinear's arithmetic: round_half_even(float32(x / scale)) clamped to
;; [lowest - zero point, highest - zero point], then the zero point added. `lows` and `highs` hold those clamped
;; bounds per channel as floats. NaN becomes the zero point: in four lanes a mask zeroes it before the clamp (pmin,
;; pmax and the rounding below would turn it into garbage); alone, it passes min and max and converts to 0.
;; Division rather than a reciprocal: float32 division is what QuantizeLinear does, bit for bit.
(module
  (memory (export "memory") 1)

  ;; maxima[c] = the largest of maxima[c] and |x[r, c]| over the rows of a [rows, columns] float32 block, as bit
  ;; patterns: magnitudes order like their patterns read as integers, and NaN patterns lie above infinity's.
  (func (export "magnitudeColumns")
    (param $input i32) (param $rows i32) (param $columns i32) (param $maxima i32)
    (local $row i32) (local $column i32) (local $vectorEnd i32) (local $slot i32) (local $bits i32)
    (local.set $vectorEnd (i32.and (local.get $columns) (i32.const -4)))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $column (i32.const 0))
        (local.set $slot (local.get $maxima))
        (block $vectorsDone
          (loop $vectorLoop
            (br_if $vectorsDone (i32.ge_u (local.get $column) (local.get $vectorEnd)))
            (v128.store (local.get $slot)
              (i32x4.max_s
                (v128.load (local.get $slot))
                (v128.and (v128.load (local.get $input)) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))))
            (local.set $input (i32.add (local.get $input) (i32.const 16)))
            (local.set $slot (i32.add (local.get $slot) (i32.const 16)))
            (local.set $column (i32.add (local.get $column) (i32.const 4)))
            (br $vectorLoop)))
        (block $scalarsDone
          (loop $scalarLoop
            (br_if $scalarsDone (i32.ge_u (local.get $column) (local.get $columns)))
            (local.set $bits (i32.and (i32.load (local.get $input)) (i32.const 0x7fffffff)))
            (if (i32.gt_s (local.get $bits) (i32.load (local.get $slot)))
              (then (i32.store (local.get $slot) (local.get $bits))))
            (local.set $input (i32.add (local.get $input) (i32.const 4)))
            (local.set $slot (i32.add (local.get $slot) (i32.const 4)))
            (local.set $column (i32.add (local.get $column) (i32.const 1)))
            (br $scalarLoop)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rowLoop))))

  ;; The same maxima for `runs` runs of `inner` consecutive float32 values, the runs cycling through `channels`
  ;; channels starting at `channel`: the layout [outer, channels, inner] of a weight whose channel axis is not last.
  (func (export "magnitudeRuns")
    (param $input i32) (param $runs i32) (param $inner i32) (param $channels i32) (param $channel i32)
    (param $maxima i32)
    (local $run i32) (local $index i32) (local $vectorEnd i32) (local $vector v128) (local $bits i32)
    (local $slot i32)
    (local.set $vectorEnd (i32.and (local.get $inner) (i32.const -4)))
    (block $runsDone
      (loop $runLoop
        (br_if $runsDone (i32.ge_u (local.get $run) (local.get $runs)))
        (local.set $slot (i32.add (local.get $maxima) (i32.shl (local.get $channel) (i32.const 2))))
        (local.set $vector (i32x4.splat (i32.load (local.get $slot))))
        (local.set $index (i32.const 0))
        (block $vectorsDone
          (loop $vectorLoop
            (br_if $vectorsDone (i32.ge_u (local.get $index) (local.get $vectorEnd)))
            (local.set $vector
              (i32x4.max_s (local.get $vector)
                (v128.and (v128.load (local.get $input)) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))))
            (local.set $input (i32.add (local.get $input) (i32.const 16)))
            (local.set $index (i32.add (local.get $index) (i32.const 4)))
            (br $vectorLoop)))
        ;; The largest of the four lanes, then of the values past the last whole vector.
        (local.set $vector (i32x4.max_s (local.get $vector) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $vector) (local.get $vector))))
        (local.set $vector (i32x4.max_s (local.get $vector) (i8x16.shuffle 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 (local.get $vector) (local.get $vector))))
        (local.set $bits (i32x4.extract_lane 0 (local.get $vector)))
        (block $scalarsDone
          (loop $scalarLoop
            (br_if $scalarsDone (i32.ge_u (local.get $index) (local.get $inner)))
            (if (i32.gt_s (i32.and (i32.load (local.get $input)) (i32.const 0x7fffffff)) (local.get $bits))
              (then (local.set $bits (i32.and (i32.load (local.get $input)) (i32.const 0x7fffffff)))))
            (local.set $input (i32.add (local.get $input) (i32.const 4)))
            (local.set $index (i32.add (local.get $index) (i32.const 1)))
            (br $scalarLoop)))
        (i32.store (local.get $slot) (local.get $bits))
        (local.set $channel (i32.add (local.get $channel) (i32.const 1)))
        (if (i32.eq (local.get $channel) (local.get $channels)) (then (local.set $channel (i32.const 0))))
        (local.set $run (i32.add (local.get $run) (i32.const 1)))
        (br $runLoop))))

  ;; scales[c] = max(magnitudes[c] / integerMax, 2^-42) in float32 for `columns` finite float32 magnitudes: the
  ;; scales of symmetric blocks (symmetricSignedScale; float32 division rounds as the float64 one then rounded).
  ;; Each scale is also stored at `strided + c * stride`: MatMulNBits keeps a column's blocks together.
  (func (export "symmetricScales")
    (param $magnitudes i32) (param $columns i32) (param $integerMax f32) (param $scales i32) (param $strided i32)
    (param $stride i32)
    (local $column i32) (local $vectorEnd i32) (local $offset i32) (local $vector v128) (local $scale f32)
    (local.set $vectorEnd (i32.and (local.get $columns) (i32.const -4)))
    (block $vectorsDone
      (loop $vectorLoop
        (br_if $vectorsDone (i32.ge_u (local.get $column) (local.get $vectorEnd)))
        (local.set $offset (i32.shl (local.get $column) (i32.const 2)))
        (local.set $vector
          (f32x4.pmax
            (f32x4.div (v128.load (i32.add (local.get $magnitudes) (local.get $offset))) (f32x4.splat (local.get $integerMax)))
            (v128.const f32x4 0x1p-42 0x1p-42 0x1p-42 0x1p-42)))
        (v128.store (i32.add (local.get $scales) (local.get $offset)) (local.get $vector))
        (f32.store (local.get $strided) (f32x4.extract_lane 0 (local.get $vector)))
        (local.set $strided (i32.add (local.get $strided) (local.get $stride)))
        (f32.store (local.get $strided) (f32x4.extract_lane 1 (local.get $vector)))
        (local.set $strided (i32.add (local.get $strided) (local.get $stride)))
        (f32.store (local.get $strided) (f32x4.extract_lane 2 (local.get $vector)))
        (local.set $strided (i32.add (local.get $strided) (local.get $stride)))
        (f32.store (local.get $strided) (f32x4.extract_lane 3 (local.get $vector)))
        (local.set $strided (i32.add (local.get $strided) (local.get $stride)))
        (local.set $column (i32.add (local.get $column) (i32.const 4)))
        (br $vectorLoop)))
    (block $scalarsDone
      (loop $scalarLoop
        (br_if $scalarsDone (i32.ge_u (local.get $column) (local.get $columns)))
        (local.set $offset (i32.shl (local.get $column) (i32.const 2)))
        (local.set $scale
          (f32.max
            (f32.div (f32.load (i32.add (local.get $magnitudes) (local.get $offset))) (local.get $integerMax))
            (f32.const 0x1p-42)))
        (f32.store (i32.add (local.get $scales) (local.get $offset)) (local.get $scale))
        (f32.store (local.get $strided) (local.get $scale))
        (local.set $strided (i32.add (local.get $strided) (local.get $stride)))
        (local.set $column (i32.add (local.get $column) (i32.const 1)))
        (br $scalarLoop))))

  ;; Four values quantized with their channels' parameters, as 32-bit integers with the zero points added. Rounds
  ;; by adding 1.5 * 2^23 (the float sum rounds to an integer, ties to even, for any value the clamp lets through)
  ;; and reading the integer from the sum's bits: cheaper than f32x4.nearest and i32x4.trunc_sat_f32x4_s, and pmin
  ;; and pmax are single instructions where min and max are not. NaN lanes are zeroed first.
  (func $quantizeVector
    (param $values v128) (param $scales v128) (param $lows v128) (param $highs v128) (param $zeroPoints v128)
    (result v128)
    (local $scaled v128)
    (local.set $scaled (f32x4.div (local.get $values) (local.get $scales)))
    (local.set $scaled (v128.and (local.get $scaled) (f32x4.eq (local.get $scaled) (local.get $scaled))))
    (i32x4.add
      (i32x4.sub
        (f32x4.add
          (f32x4.pmin (f32x4.pmax (local.get $scaled) (local.get $lows)) (local.get $highs))
          (v128.const f32x4 12582912 12582912 12582912 12582912))
        (v128.const i32x4 0x4b400000 0x4b400000 0x4b400000 0x4b400000))
      (local.get $zeroPoints)))

  ;; One value, the same way.
  (func $quantizeScalar
    (param $value f32) (param $scale f32) (param $low f32) (param $high f32) (param $zeroPoint i32) (result i32)
    (i32.add
      (i32.trunc_sat_f32_s
        (f32.min (f32.max (f32.nearest (f32.div (local.get $value) (local.get $scale))) (local.get $low)) (local.get $high)))
      (local.get $zeroPoint)))

  ;; Four quantized integers stored as `width` bytes each (1 or 2). `bias` is 0 for signed types and 2^(8 width - 1)
  ;; for unsigned ones: subtracting it lets the signed saturating narrows carry unsigned values, and flipping the top
  ;; bit afterwards gives them back.
  (func $storeVector (param $output i32) (param $integers v128) (param $width i32) (param $bias i32)
    (local $narrowed v128)
    (local.set $narrowed
      (i16x8.narrow_i32x4_s
        (i32x4.sub (local.get $integers) (i32x4.splat (local.get $bias)))
        (i32x4.sub (local.get $integers) (i32x4.splat (local.get $bias)))))
    (if (i32.eq (local.get $width) (i32.const 1))
      (then
        (v128.store32_lane 0 (local.get $output)
          (v128.xor
            (i8x16.narrow_i16x8_s (local.get $narrowed) (local.get $narrowed))
            (i8x16.splat (local.get $bias)))))
      (else
        (v128.store64_lane 0 (local.get $output)
          (v128.xor (local.get $narrowed) (i16x8.splat (local.get $bias)))))))

  ;; One quantized integer stored as `width` bytes (its low bytes: two's complement or unsigned alike).
  (func $storeScalar (param $output i32) (param $integer i32) (param $width i32)
    (if (i32.eq (local.get $width) (i32.const 1))
      (then (i32.store8 (local.get $output) (local.get $integer)))
      (else (i32.store16 (local.get $output) (local.get $integer)))))

  ;; A [rows, columns] float32 block quantized with one set of parameters per column (the channel axis last), into
  ;; integers of `width` bytes at `output`. Parameters are arrays of `columns` 4-byte values: float32 scales, lows
  ;; and highs, int32 zero points.
  (func (export "quantizeColumns")
    (param $input i32) (param $rows i32) (param $columns i32) (param $scales i32) (param $zeroPoints i32)
    (param $lows i32) (param $highs i32) (param $output i32) (param $width i32) (param $bias i32)
    (local $row i32) (local $column i32) (local $vectorEnd i32) (local $offset i32)
    (local.set $vectorEnd (i32.and (local.get $columns) (i32.const -4)))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $column (i32.const 0))
        (block $vectorsDone
          (loop $vectorLoop
            (br_if $vectorsDone (i32.ge_u (local.get $column) (local.get $vectorEnd)))
            (local.set $offset (i32.shl (local.get $column) (i32.const 2)))
            (call $storeVector (local.get $output)
              (call $quantizeVector
                (v128.load (local.get $input))
                (v128.load (i32.add (local.get $scales) (local.get $offset)))
                (v128.load (i32.add (local.get $lows) (local.get $offset)))
                (v128.load (i32.add (local.get $highs) (local.get $offset)))
                (v128.load (i32.add (local.get $zeroPoints) (local.get $offset))))
              (local.get $width) (local.get $bias))
            (local.set $input (i32.add (local.get $input) (i32.const 16)))
            (local.set $output (i32.add (local.get $output) (i32.shl (local.get $width) (i32.const 2))))
            (local.set $column (i32.add (local.get $column) (i32.const 4)))
            (br $vectorLoop)))
        (block $scalarsDone
          (loop $scalarLoop
            (br_if $scalarsDone (i32.ge_u (local.get $column) (local.get $columns)))
            (local.set $offset (i32.shl (local.get $column) (i32.const 2)))
            (call $storeScalar (local.get $output)
              (call $quantizeScalar
                (f32.load (local.get $input))
                (f32.load (i32.add (local.get $scales) (local.get $offset)))
                (f32.load (i32.add (local.get $lows) (local.get $offset)))
                (f32.load (i32.add (local.get $highs) (local.get $offset)))
                (i32.load (i32.add (local.get $zeroPoints) (local.get $offset))))
              (local.get $width))
            (local.set $input (i32.add (local.get $input) (i32.const 4)))
            (local.set $output (i32.add (local.get $output) (local.get $width)))
            (local.set $column (i32.add (local.get $column) (i32.const 1)))
            (br $scalarLoop)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rowLoop))))

  ;; `runs` runs of `inner` float32 values, the runs cycling through the channels from `channel` (as in
  ;; magnitudeRuns), each quantized with its channel's parameters.
  (func (export "quantizeRuns")
    (param $input i32) (param $runs i32) (param $inner i32) (param $channels i32) (param $channel i32)
    (param $scales i32) (param $zeroPoints i32) (param $lows i32) (param $highs i32) (param $output i32)
    (param $width i32) (param $bias i32)
    (local $run i32) (local $index i32) (local $vectorEnd i32) (local $offset i32)
    (local $scale f32) (local $low f32) (local $high f32) (local $zeroPoint i32)
    (local $scaleLanes v128) (local $lowLanes v128) (local $highLanes v128) (local $zeroPointLanes v128)
    (local.set $vectorEnd (i32.and (local.get $inner) (i32.const -4)))
    (block $runsDone
      (loop $runLoop
        (br_if $runsDone (i32.ge_u (local.get $run) (local.get $runs)))
        (local.set $offset (i32.shl (local.get $channel) (i32.const 2)))
        (local.set $scale (f32.load (i32.add (local.get $scales) (local.get $offset))))
        (local.set $low (f32.load (i32.add (local.get $lows) (local.get $offset))))
        (local.set $high (f32.load (i32.add (local.get $highs) (local.get $offset))))
        (local.set $zeroPoint (i32.load (i32.add (local.get $zeroPoints) (local.get $offset))))
        ;; The run's parameters in four lanes, once per run rather than once per vector.
        (local.set $scaleLanes (f32x4.splat (local.get $scale)))
        (local.set $lowLanes (f32x4.splat (local.get $low)))
        (local.set $highLanes (f32x4.splat (local.get $high)))
        (local.set $zeroPointLanes (i32x4.splat (local.get $zeroPoint)))
        (local.set $index (i32.const 0))
        (block $vectorsDone
          (loop $vectorLoop
            (br_if $vectorsDone (i32.ge_u (local.get $index) (local.get $vectorEnd)))
            (call $storeVector (local.get $output)
              (call $quantizeVector
                (v128.load (local.get $input))
                (local.get $scaleLanes)
                (local.get $lowLanes)
                (local.get $highLanes)
                (local.get $zeroPointLanes))
              (local.get $width) (local.get $bias))
            (local.set $input (i32.add (local.get $input) (i32.const 16)))
            (local.set $output (i32.add (local.get $output) (i32.shl (local.get $width) (i32.const 2))))
            (local.set $index (i32.add (local.get $index) (i32.const 4)))
            (br $vectorLoop)))
        (block $scalarsDone
          (loop $scalarLoop
            (br_if $scalarsDone (i32.ge_u (local.get $index) (local.get $inner)))
            (call $storeScalar (local.get $output)
              (call $quantizeScalar (f32.load (local.get $input)) (local.get $scale) (local.get $low) (local.get $high)
                (local.get $zeroPoint))
              (local.get $width))
            (local.set $input (i32.add (local.get $input) (i32.const 4)))
            (local.set $output (i32.add (local.get $output) (local.get $width)))
            (local.set $index (i32.add (local.get $index) (i32.const 1)))
            (br $scalarLoop)))
        (local.set $channel (i32.add (local.get $channel) (i32.const 1)))
        (if (i32.eq (local.get $channel) (local.get $channels)) (then (local.set $channel (i32.const 0))))
        (local.set $run (i32.add (local.get $run) (i32.const 1)))
        (br $runLoop))))

  ;; MatMulNBits blobs from a [rows, columns] float32 block of W [K, N] (one block of K for every column): element r
  ;; of column c goes to byte r / 2 of the column's blob at `blobs + c * blobSize` (bits 4, low nibble first;
  ;; `rows` even) or to byte r (bits 8). Codes are the quantized integers plus `codeOffset` (symmetric codes are stored
  ;; offset by MatMulNBits' default zero point).
  (func (export "codeColumns")
    (param $input i32) (param $rows i32) (param $columns i32) (param $scales i32) (param $zeroPoints i32)
    (param $lows i32) (param $highs i32) (param $codeOffset i32) (param $bits i32) (param $blobs i32)
    (param $blobSize i32)
    (local $row i32) (local $column i32) (local $vectorEnd i32) (local $offset i32) (local $codes v128)
    (local $second i32) (local $rowStep i32) (local $byte i32) (local $at i32) (local $code i32)
    (local.set $vectorEnd (i32.and (local.get $columns) (i32.const -4)))
    ;; With 4 bits a step takes two rows: the second one's codes go to the high nibbles.
    (local.set $rowStep (select (i32.const 2) (i32.const 1) (i32.eq (local.get $bits) (i32.const 4))))
    (local.set $second (i32.shl (local.get $columns) (i32.const 2)))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $byte (select (i32.shr_u (local.get $row) (i32.const 1)) (local.get $row) (i32.eq (local.get $bits) (i32.const 4))))
        (local.set $column (i32.const 0))
        (block $vectorsDone
          (loop $vectorLoop
            (br_if $vectorsDone (i32.ge_u (local.get $column) (local.get $vectorEnd)))
            (local.set $offset (i32.shl (local.get $column) (i32.const 2)))
            (local.set $codes
              (i32x4.add
                (call $quantizeVector
                  (v128.load (local.get $input))
                  (v128.load (i32.add (local.get $scales) (local.get $offset)))
                  (v128.load (i32.add (local.get $lows) (local.get $offset)))
                  (v128.load (i32.add (local.get $highs) (local.get $offset)))
                  (v128.load (i32.add (local.get $zeroPoints) (local.get $offset))))
                (i32x4.splat (local.get $codeOffset))))
            (if (i32.eq (local.get $bits) (i32.const 4))
              (then
                (local.set $codes
                  (v128.or (local.get $codes)
                    (i32x4.shl
                      (i32x4.add
                        (call $quantizeVector
                          (v128.load (i32.add (local.get $input) (local.get $second)))
                          (v128.load (i32.add (local.get $scales) (local.get $offset)))
                          (v128.load (i32.add (local.get $lows) (local.get $offset)))
                          (v128.load (i32.add (local.get $highs) (local.get $offset)))
                          (v128.load (i32.add (local.get $zeroPoints) (local.get $offset))))
                        (i32x4.splat (local.get $codeOffset)))
                      (i32.const 4))))))
            (local.set $at (i32.add (local.get $blobs) (i32.add (i32.mul (local.get $column) (local.get $blobSize)) (local.get $byte))))
            (i32.store8 (local.get $at) (i32x4.extract_lane 0 (local.get $codes)))
            (local.set $at (i32.add (local.get $at) (local.get $blobSize)))
            (i32.store8 (local.get $at) (i32x4.extract_lane 1 (local.get $codes)))
            (local.set $at (i32.add (local.get $at) (local.get $blobSize)))
            (i32.store8 (local.get $at) (i32x4.extract_lane 2 (local.get $codes)))
            (local.set $at (i32.add (local.get $at) (local.get $blobSize)))
            (i32.store8 (local.get $at) (i32x4.extract_lane 3 (local.get $codes)))
            (local.set $input (i32.add (local.get $input) (i32.const 16)))
            (local.set $column (i32.add (local.get $column) (i32.const 4)))
            (br $vectorLoop)))
        (block $scalarsDone
          (loop $scalarLoop
            (br_if $scalarsDone (i32.ge_u (local.get $column) (local.get $columns)))
            (local.set $offset (i32.shl (local.get $column) (i32.const 2)))
            (local.set $code
              (i32.add
                (call $quantizeScalar
                  (f32.load (local.get $input))
                  (f32.load (i32.add (local.get $scales) (local.get $offset)))
                  (f32.load (i32.add (local.get $lows) (local.get $offset)))
                  (f32.load (i32.add (local.get $highs) (local.get $offset)))
                  (i32.load (i32.add (local.get $zeroPoints) (local.get $offset))))
                (local.get $codeOffset)))
            (if (i32.eq (local.get $bits) (i32.const 4))
              (then
                (local.set $code
                  (i32.or (local.get $code)
                    (i32.shl
                      (i32.add
                        (call $quantizeScalar
                          (f32.load (i32.add (local.get $input) (local.get $second)))
                          (f32.load (i32.add (local.get $scales) (local.get $offset)))
                          (f32.load (i32.add (local.get $lows) (local.get $offset)))
                          (f32.load (i32.add (local.get $highs) (local.get $offset)))
                          (i32.load (i32.add (local.get $zeroPoints) (local.get $offset))))
                        (local.get $codeOffset))
                      (i32.const 4))))))
            (i32.store8
              (i32.add (local.get $blobs) (i32.add (i32.mul (local.get $column) (local.get $blobSize)) (local.get $byte)))
              (local.get $code))
            (local.set $input (i32.add (local.get $input) (i32.const 4)))
            (local.set $column (i32.add (local.get $column) (i32.const 1)))
            (br $scalarLoop)))
        ;; With 4 bits the second row of the pair was read alongside the first: skip it.
        (if (i32.eq (local.get $bits) (i32.const 4))
          (then (local.set $input (i32.add (local.get $input) (local.get $second)))))
        (local.set $row (i32.add (local.get $row) (local.get $rowStep)))
        (br $rowLoop))))

;; MatMulNBits blobs from `runs` runs of `runLength` float32 values of a transposed weight [N, K] (each run one
  ;; block of K of one column, with its own parameters at index r of the parameter arrays): run r's codes go to the
  ;; blob at `output + r * blobSize`, two to a byte low nibble first (bits 4) or one to a byte (bits 8). The rest of
  ;; a blob past a short last block holds the zero point's code (and so does the high nibble of an odd last value).
  (func (export "codeRuns")
    (param $input i32) (param $runs i32) (param $runLength i32) (param $scales i32) (param $zeroPoints i32)
    (param $lows i32) (param $highs i32) (param $codeOffset i32) (param $bits i32) (param $output i32)
    (param $blobSize i32)
    (local $run i32) (local $index i32) (local $offset i32) (local $blob i32) (local $pad i32) (local $byte i32)
    (local $scale v128) (local $low v128) (local $high v128) (local $zeroPoint v128) (local $codes v128)
    (block $runsDone
      (loop $runLoop
        (br_if $runsDone (i32.ge_u (local.get $run) (local.get $runs)))
        (local.set $offset (i32.shl (local.get $run) (i32.const 2)))
        (local.set $scale (v128.load32_splat (i32.add (local.get $scales) (local.get $offset))))
        (local.set $low (v128.load32_splat (i32.add (local.get $lows) (local.get $offset))))
        (local.set $high (v128.load32_splat (i32.add (local.get $highs) (local.get $offset))))
        (local.set $zeroPoint (v128.load32_splat (i32.add (local.get $zeroPoints) (local.get $offset))))
        (local.set $pad (i32.add (i32x4.extract_lane 0 (local.get $zeroPoint)) (local.get $codeOffset)))
        (local.set $blob (i32.add (local.get $output) (i32.mul (local.get $run) (local.get $blobSize))))
        (local.set $index (i32.const 0))
        (if (i32.eq (local.get $bits) (i32.const 4))
          (then
            ;; Eight values at a time: their codes as 16-bit lanes, each pair of lanes read as one 32-bit lane
            ;; (low code | high code << 16) folded into one byte (low | high << 4).
            (block $octetsDone
              (loop $octetLoop
                (br_if $octetsDone (i32.gt_u (i32.add (local.get $index) (i32.const 8)) (local.get $runLength)))
                (local.set $codes
                  (i16x8.narrow_i32x4_s
                    (i32x4.add
                      (call $quantizeVector (v128.load (local.get $input)) (local.get $scale) (local.get $low)
                        (local.get $high) (local.get $zeroPoint))
                      (i32x4.splat (local.get $codeOffset)))
                    (i32x4.add
                      (call $quantizeVector (v128.load offset=16 (local.get $input)) (local.get $scale) (local.get $low)
                        (local.get $high) (local.get $zeroPoint))
                      (i32x4.splat (local.get $codeOffset)))))
                (local.set $codes
                  (v128.or
                    (v128.and (local.get $codes) (v128.const i32x4 0x0f 0x0f 0x0f 0x0f))
                    (v128.and (i32x4.shr_u (local.get $codes) (i32.const 12)) (v128.const i32x4 0xf0 0xf0 0xf0 0xf0))))
                (local.set $codes (i16x8.narrow_i32x4_s (local.get $codes) (local.get $codes)))
                (v128.store32_lane 0
                  (i32.add (local.get $blob) (i32.shr_u (local.get $index) (i32.const 1)))
                  (i8x16.narrow_i16x8_u (local.get $codes) (local.get $codes)))
                (local.set $input (i32.add (local.get $input) (i32.const 32)))
                (local.set $index (i32.add (local.get $index) (i32.const 8)))
                (br $octetLoop)))
            ;; The values left, a pair at a time; an odd last one pairs with the padding.
            (block $pairsDone
              (loop $pairLoop
                (br_if $pairsDone (i32.ge_u (local.get $index) (local.get $runLength)))
                (local.set $byte
                  (i32.add
                    (call $quantizeScalar (f32.load (local.get $input)) (f32x4.extract_lane 0 (local.get $scale))
                      (f32x4.extract_lane 0 (local.get $low)) (f32x4.extract_lane 0 (local.get $high))
                      (i32x4.extract_lane 0 (local.get $zeroPoint)))
                    (local.get $codeOffset)))
                (local.set $byte
                  (i32.or (local.get $byte)
                    (i32.shl
                      (if (result i32) (i32.lt_u (i32.add (local.get $index) (i32.const 1)) (local.get $runLength))
                        (then
                          (i32.add
                            (call $quantizeScalar (f32.load offset=4 (local.get $input))
                              (f32x4.extract_lane 0 (local.get $scale)) (f32x4.extract_lane 0 (local.get $low))
                              (f32x4.extract_lane 0 (local.get $high)) (i32x4.extract_lane 0 (local.get $zeroPoint)))
                            (local.get $codeOffset)))
                        (else (local.get $pad)))
                      (i32.const 4))))
                (i32.store8 (i32.add (local.get $blob) (i32.shr_u (local.get $index) (i32.const 1))) (local.get $byte))
                (local.set $input (i32.add (local.get $input) (i32.const 8)))
                (local.set $index (i32.add (local.get $index) (i32.const 2)))
                (br $pairLoop)))
            ;; An odd count moved the input one value too far.
            (if (i32.and (local.get $runLength) (i32.const 1))
              (then (local.set $input (i32.sub (local.get $input) (i32.const 4)))))
            (local.set $index (i32.shr_u (i32.add (local.get $runLength) (i32.const 1)) (i32.const 1)))
            (local.set $pad (i32.or (local.get $pad) (i32.shl (local.get $pad) (i32.const 4)))))
          (else
            (block $quadsDone
              (loop $quadLoop
                (br_if $quadsDone (i32.gt_u (i32.add (local.get $index) (i32.const 4)) (local.get $runLength)))
                (local.set $codes
                  (i32x4.add
                    (call $quantizeVector (v128.load (local.get $input)) (local.get $scale) (local.get $low)
                      (local.get $high) (local.get $zeroPoint))
                    (i32x4.splat (local.get $codeOffset))))
                (local.set $codes (i16x8.narrow_i32x4_s (local.get $codes) (local.get $codes)))
                (v128.store32_lane 0 (i32.add (local.get $blob) (local.get $index))
                  (i8x16.narrow_i16x8_u (local.get $codes) (local.get $codes)))
                (local.set $input (i32.add (local.get $input) (i32.const 16)))
                (local.set $index (i32.add (local.get $index) (i32.const 4)))
                (br $quadLoop)))
            (block $singlesDone
              (loop $singleLoop
                (br_if $singlesDone (i32.ge_u (local.get $index) (local.get $runLength)))
                (i32.store8 (i32.add (local.get $blob) (local.get $index))
                  (i32.add
                    (call $quantizeScalar (f32.load (local.get $input)) (f32x4.extract_lane 0 (local.get $scale))
                      (f32x4.extract_lane 0 (local.get $low)) (f32x4.extract_lane 0 (local.get $high))
                      (i32x4.extract_lane 0 (local.get $zeroPoint)))
                    (local.get $codeOffset)))
                (local.set $input (i32.add (local.get $input) (i32.const 4)))
                (local.set $index (i32.add (local.get $index) (i32.const 1)))
                (br $singleLoop)))))
        ;; $index is now the bytes written: the rest of the blob holds the zero point's code.
        (block $padDone
          (loop $padLoop
            (br_if $padDone (i32.ge_u (local.get $index) (local.get $blobSize)))
            (i32.store8 (i32.add (local.get $blob) (local.get $index)) (local.get $pad))
            (local.set $index (i32.add (local.get $index) (i32.const 1)))
            (br $padLoop)))
        (local.set $run (i32.add (local.get $run) (i32.const 1)))
        (br $runLoop))))

  ;; `columns` blobs of `blobSize` bytes from `blobs`, one after the other, to `target`, `stride` bytes apart: a
  ;; block's blobs into B [N, blocks, blobSize]. Assembled apart first because B's blobs of one block lie a power of
  ;; two apart, where the codes' byte-sized writes would keep evicting each other from cache. Eight bytes at a time
  ;; (blobs of the block sizes MatMulNBits takes are multiples of 8), then any bytes left one at a time.
  (func (export "scatterBlobs")
    (param $blobs i32) (param $columns i32) (param $blobSize i32) (param $target i32) (param $stride i32)
    (local $column i32) (local $index i32) (local $wordsEnd i32)
    (local.set $wordsEnd (i32.and (local.get $blobSize) (i32.const -8)))
    (block $columnsDone
      (loop $columnLoop
        (br_if $columnsDone (i32.ge_u (local.get $column) (local.get $columns)))
        (local.set $index (i32.const 0))
        (block $wordsDone
          (loop $wordLoop
            (br_if $wordsDone (i32.ge_u (local.get $index) (local.get $wordsEnd)))
            (i64.store (i32.add (local.get $target) (local.get $index)) (i64.load (local.get $blobs)))
            (local.set $blobs (i32.add (local.get $blobs) (i32.const 8)))
            (local.set $index (i32.add (local.get $index) (i32.const 8)))
            (br $wordLoop)))
        (block $bytesDone
          (loop $byteLoop
            (br_if $bytesDone (i32.ge_u (local.get $index) (local.get $blobSize)))
            (i32.store8 (i32.add (local.get $target) (local.get $index)) (i32.load8_u (local.get $blobs)))
            (local.set $blobs (i32.add (local.get $blobs) (i32.const 1)))
            (local.set $index (i32.add (local.get $index) (i32.const 1)))
            (br $byteLoop)))
        (local.set $target (i32.add (local.get $target) (local.get $stride)))
        (local.set $column (i32.add (local.get $column) (i32.const 1)))
        (br $columnLoop))))
)
