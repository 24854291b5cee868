using System;

namespace Serve.Handlers;

/// <summary>
/// PyTorch's CPU float arithmetic where the handlers' answers depend on its rounding: its
/// vectorised exp (SLEEF's <c>expf_u10</c>, which PyTorch's <c>Vectorized&lt;float&gt;::exp</c> calls)
/// and its eight-lane sum (<c>vec::reduce_all</c> on an AVX2 vector).
/// </summary>
internal static class PyTorchMath
{
    /// <summary>
    /// SLEEF 3's <c>xexpf</c> (sleefsimdsp.c) in scalar form, fused multiply-adds as the AVX2 build
    /// has them: e^x within 1 ulp, the same float PyTorch's vectorised exp gives (.NET's
    /// <see cref="MathF.Exp"/> is the C library's, which rounds differently in the last bit).
    /// </summary>
    public static float Exp(float d)
    {
        const float ln2Reciprocal = 1.442695040888963407359924681001892137f;
        const float ln2Upper = 0.693145751953125f;
        const float ln2Lower = 1.428606765330187045e-06f;
        var q = (int)MathF.Round(d * ln2Reciprocal, MidpointRounding.ToEven);
        var s = MathF.FusedMultiplyAdd(q, -ln2Upper, d);
        s = MathF.FusedMultiplyAdd(q, -ln2Lower, s);
        var u = 0.000198527617612853646278381f;
        u = MathF.FusedMultiplyAdd(u, s, 0.00139304355252534151077271f);
        u = MathF.FusedMultiplyAdd(u, s, 0.00833336077630519866943359f);
        u = MathF.FusedMultiplyAdd(u, s, 0.0416664853692054748535156f);
        u = MathF.FusedMultiplyAdd(u, s, 0.166666671633720397949219f);
        u = MathF.FusedMultiplyAdd(u, s, 0.5f);
        u = 1f + MathF.FusedMultiplyAdd(s * s, u, s);
        u = u * Pow2(q >> 1) * Pow2(q - (q >> 1));
        if (d < -104f)
        {
            return 0f;
        }
        return d > 100f ? float.PositiveInfinity : u;
    }

    /// <summary>
    /// The sum as <c>vec::reduce_all</c> adds with eight float lanes: lane i takes elements i, i+8,
    /// i+16, ... (a short tail only in its first lanes), then lanes i and i+4, i and i+2, 0 and 1 are added.
    /// Fewer than eight values are added in order.
    /// </summary>
    public static float VectorSum(ReadOnlySpan<float> values)
    {
        const int Lanes = 8;
        if (values.Length < Lanes)
        {
            var total = values.IsEmpty ? 0f : values[0];
            for (var i = 1; i < values.Length; i++)
            {
                total += values[i];
            }
            return total;
        }
        Span<float> lanes = stackalloc float[Lanes];
        values[..Lanes].CopyTo(lanes);
        for (var d = Lanes; d < values.Length; d += Lanes)
        {
            var chunk = values[d..Math.Min(d + Lanes, values.Length)];
            for (var i = 0; i < chunk.Length; i++)
            {
                lanes[i] += chunk[i];
            }
        }
        for (var width = Lanes / 2; width >= 1; width /= 2)
        {
            for (var i = 0; i < width; i++)
            {
                lanes[i] += lanes[i + width];
            }
        }
        return lanes[0];
    }

    /// <summary>2^e for e in [-126, 127], built from its exponent bits (SLEEF's vpow2i).</summary>
    private static float Pow2(int e) => BitConverter.Int32BitsToSingle((e + 127) << 23);
}
