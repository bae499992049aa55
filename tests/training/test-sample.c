/* test-sample.c: the label transform of MODEL.md §1.2 (against values computed independently
 * with numpy following ADLD's data_list.py), the crop/flip draws, the per-AU weights of §8 (against
 * the reference export's in_auweight) and the AU metrics of §7. */
#include <stdint.h>

#include "mim-metrics.h"
#include "mim-sample.h"
#include "mim-test.h"

typedef struct {
    float xy[98];
    int ox, oy, flip;
    int32_t want[49];
} label_case;

/* Generated once with numpy (float64, numpy.around, numpy.clip) from random landmarks; point 0
 * and point 1 sit on .5 grid ties. */
static const label_case cases[] = {
    {{42.0f,       145.792526f, 26.0f,        102.382072f, 186.448334f, 187.184479f, 17.6287689f,
      35.5934334f, 1.32278478f, 86.9781647f,  -3.4272337f, 90.5033112f, 132.811691f, 51.2672005f,
      138.776077f, 119.989822f, -4.72398567f, 112.947899f, 47.0355377f, 81.3222656f, 52.3755188f,
      142.490341f, 86.8998184f, 24.5109024f,  109.822784f, 161.66925f,  57.3999786f, 38.8307343f,
      75.3536758f, 196.00441f,  204.718994f,  137.924408f, 188.623505f, 176.065186f, 73.1586914f,
      10.2877417f, 133.750397f, 112.724968f,  69.5442505f, 39.5119896f, 79.4343796f, 93.1668549f,
      49.2318268f, 54.1944122f, 90.6910095f,  179.317459f, 118.975639f, 52.3673286f, 51.1550522f,
      90.0168533f, 35.1902771f, 34.303318f,   103.087715f, 9.19046116f, 96.3888168f, 69.6787643f,
      145.691055f, 154.284164f, 142.040436f,  141.61969f,  72.1920242f, 136.989655f, 64.7667084f,
      116.014648f, 61.6775742f, 87.9319077f,  3.53636479f, 43.3885918f, 203.752579f, 40.7285233f,
      142.125046f, 133.104904f, 149.266617f,  94.5194931f, 121.266029f, 4.73327303f, 5.96367025f,
      33.7747269f, 23.40942f,   12.0229559f,  18.4446507f, 111.7211f,   31.3192616f, 199.46228f,
      139.95459f,  109.02433f,  145.579727f,  48.055069f,  193.879654f, 174.622467f, 149.790283f,
      95.6527939f, 175.262695f, 153.845505f,  135.271698f, 191.074554f, 129.406418f, 70.5069275f},
     0,
     0,
     0,
     {1594, 930,  1935, 400,  660,  704,  605,  1575, 1056, 892,  1597, 286,  1787,
      454,  1911, 1275, 1935, 18,   1265, 457,  1032, 628,  1915, 602,  1597, 405,
      114,  772,  1752, 1928, 1514, 1292, 983,  485,  483,  1488, 1093, 74,   353,
      446,  1237, 1900, 1223, 564,  1935, 1093, 1715, 1926, 824}},
    {{42.0f,        33.2037277f, 50.0f,       149.647324f, 162.686081f,    203.861633f, 177.213715f,
      109.590752f,  9.75399113f, 97.5521164f, 194.145996f, 163.276001f,    96.720726f,  90.1614609f,
      37.9568672f,  28.9869442f, 6.19720745f, 186.326508f, 130.838852f,    21.5331097f, 81.1079254f,
      0.803963363f, 36.0621376f, 150.755783f, 133.247009f, 95.3752289f,    50.4517097f, 133.48909f,
      200.4189f,    85.8145218f, 5.42915106f, 2.70092726f, 8.2316246f,     201.135574f, 108.967384f,
      174.24173f,   27.4073792f, 47.2759171f, 142.235046f, 187.025467f,    64.9514694f, 4.22810364f,
      180.106323f,  53.9919395f, 153.038132f, 24.7674046f, 142.891953f,    175.11232f,  149.97345f,
      69.0036545f,  149.87175f,  20.6827679f, 59.0402069f, 82.3082047f,    182.986649f, 23.8228455f,
      183.627457f,  165.772156f, 203.757339f, 70.8946533f, 35.08675f,      42.9254723f, 172.129822f,
      202.350189f,  143.738205f, 96.1493454f, 53.1509476f, 173.411331f,    181.879486f, 10.2689505f,
      37.5088844f,  172.987442f, 176.626862f, 59.2236595f, 51.4448128f,    84.7793045f, 108.67823f,
      11.0246992f,  174.120667f, 107.64167f,  160.49292f,  40.7839775f,    202.364532f, 155.226013f,
      65.4806519f,  198.676086f, 144.112595f, 174.923431f, 0.00940728839f, 2.24113894f, 153.402206f,
      57.0310135f,  103.692558f, 24.3777332f, 205.149536f, 100.605232f,    172.380234f, 6.2883153f},
     24,
     7,
     1,
     {192,  1935, 304,  949,  1716, 1011, 1149, 1900, 1576, 346,  29,  1624, 984,
      1444, 482,  1826, 1935, 43,   880,  1763, 179,  870,  144,  436, 748,  187,
      532,  33,   1905, 716,  1861, 872,  577,  1844, 48,   1884, 981, 1898, 1925,
      1628, 361,  1149, 66,   583,  43,   1861, 6,    1012, 199}},
    {{42.0f,       48.7500496f, 38.0f,       98.9443741f, 120.977196f, 134.902496f, 157.922501f,
      50.0896835f, 115.745453f, 109.236984f, 118.077065f, 105.181534f, 106.884087f, 144.226562f,
      94.241394f,  104.197067f, 122.915642f, 50.739399f,  91.8310394f, 52.2561073f, 56.5371857f,
      40.2550659f, 65.164772f,  65.9964752f, 101.949341f, 108.424988f, 138.875336f, 98.4053421f,
      146.974548f, 87.4072952f, 129.353378f, 106.330872f, 114.859009f, 72.4470367f, 152.511398f,
      132.358566f, 57.471405f,  104.492126f, 159.494354f, 45.8867607f, 76.3383789f, 128.897598f,
      44.7233734f, 129.600525f, 108.810555f, 127.80468f,  106.099915f, 152.728424f, 81.5682068f,
      108.936333f, 46.0935974f, 106.411942f, 90.3271561f, 157.979416f, 153.472885f, 56.5935287f,
      44.9938774f, 54.4810066f, 63.1296349f, 127.14016f,  105.277351f, 104.19104f,  95.7444382f,
      40.8033066f, 87.0966263f, 159.87262f,  138.434952f, 108.743286f, 63.5755539f, 150.456329f,
      90.8976669f, 114.319275f, 64.3729172f, 79.3678894f, 81.3944168f, 87.370224f,  42.6678276f,
      119.241646f, 60.3988037f, 112.396034f, 114.34964f,  123.748573f, 75.0317459f, 75.0438385f,
      130.663544f, 86.5869064f, 58.2955894f, 148.63179f,  41.5699387f, 146.378128f, 75.070816f,
      85.8190079f, 157.408615f, 92.4010925f, 125.905838f, 89.4859314f, 149.624298f, 126.33886f},
     12,
     12,
     0,
     {404,  754,  1611, 476,  730,  687,  1476, 1253, 204,  460,  319,  585,  1078,
      1000, 870,  733,  686,  1003, 1023, 389,  1292, 1284, 1300, 1564, 1777, 1065,
      1604, 519,  492,  1905, 1035, 329,  1647, 1088, 1553, 1164, 761,  853,  1196,
      1464, 1258, 1072, 866,  1508, 1503, 808,  916,  864,  1310}},
    {{42.0f,       148.32991f,  29.0f,       90.5651627f, 144.180069f, 103.419373f, 105.840057f,
      117.917427f, 49.5535278f, 140.620667f, 52.6891632f, 103.878586f, 151.12114f,  105.844818f,
      81.0649414f, 127.195702f, 148.12175f,  113.948242f, 46.706337f,  145.457031f, 42.1572952f,
      121.38871f,  148.005524f, 58.8934669f, 103.379814f, 124.606552f, 61.0613937f, 69.4237137f,
      47.9883995f, 59.0802994f, 54.1794472f, 74.8770905f, 130.068817f, 123.242134f, 131.512283f,
      119.159676f, 135.308105f, 57.8747559f, 106.517632f, 42.5751686f, 98.9996643f, 141.210022f,
      96.6744537f, 75.470314f,  72.9586029f, 87.2249756f, 149.658752f, 156.915527f, 129.805969f,
      158.501205f, 131.468613f, 74.1088181f, 92.2098465f, 126.777901f, 125.120804f, 121.375008f,
      98.5465698f, 57.1758537f, 155.156631f, 66.4147873f, 157.526123f, 55.2908516f, 157.640274f,
      85.133934f,  137.312393f, 40.8750534f, 93.4000931f, 69.8730164f, 123.343025f, 119.56321f,
      95.430191f,  124.796303f, 157.391388f, 51.1897087f, 107.521126f, 121.115326f, 115.986229f,
      71.4702759f, 144.994461f, 69.4637375f, 141.395386f, 96.4874344f, 57.1711006f, 138.895554f,
      49.3818779f, 135.398758f, 112.001465f, 145.199142f, 136.384537f, 88.2364883f, 56.2230568f,
      71.9429779f, 40.1587029f, 118.408386f, 50.2614899f, 61.5146294f, 69.3971863f, 88.7322998f},
     3,
     19,
     1,
     {1440, 843,  1431, 974,  647,  1043, 1117, 1152, 608,  1441, 1177, 447,  1162,
      600,  450,  803,  1155, 338,  472,  459,  1156, 1209, 627,  400,  1149, 774,
      636,  1383, 281,  1903, 1502, 1161, 356,  1164, 1113, 592,  229,  752,  1307,
      1657, 844,  888,  587,  602,  758,  1424, 774,  515,  1134}},
};

static void test_landmark_labels(void)
{
    int n_bad = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mim_sample_aug aug = {cases[c].ox, cases[c].oy, cases[c].flip};
        int32_t got[49];
        mim_sample_landmark_labels(cases[c].xy, &aug, got);
        for (int i = 0; i < 49; i++)
            if (got[i] != cases[c].want[i]) {
                if (n_bad++ < 5)
                    MT_FAIL("case %zu point %d: label %d, numpy %d", c, i, got[i],
                            cases[c].want[i]);
            }
    }
    MT_NOTE("%zu cases x 49 points, %d mismatches", sizeof cases / sizeof cases[0], n_bad);
}

static void test_landmark_labels_by_hand(void)
{
    /* All points at pixel (100, 60), offsets (12, 12), no flip: grid (22, 12); the inner eye
     * corners coincide (ruler 0), so nothing moves: every label is 12*44+22 = 550. */
    float xy[98];
    for (int i = 0; i < 49; i++) {
        xy[2 * i] = 100;
        xy[2 * i + 1] = 60;
    }
    mim_sample_aug aug = {12, 12, 0};
    int32_t l[49];
    mim_sample_landmark_labels(xy, &aug, l);
    for (int i = 0; i < 49; i++)
        MT_CHECK_INT(l[i], 550);
    /* Inner eye corners 8 grid cells apart (x[22] = 10, x[25] = 18): ruler 8, so point 24 and
     * 29 go 8 cells down, 4/5/15/17 4 up, 39/41 4 down, 1/8 8/3 up -> 2.67 -> 3 up. */
    for (int i = 0; i < 49; i++) {
        xy[2 * i] = 4 * 20;
        xy[2 * i + 1] = 4 * 20;
    }
    xy[2 * 22] = 4 * 10;
    xy[2 * 25] = 4 * 18;
    aug = (mim_sample_aug){0, 0, 0};
    mim_sample_landmark_labels(xy, &aug, l);
    MT_CHECK_INT(l[24], 28 * 44 + 20);
    MT_CHECK_INT(l[29], 28 * 44 + 20);
    MT_CHECK_INT(l[4], 16 * 44 + 20);
    MT_CHECK_INT(l[39], 24 * 44 + 20);
    MT_CHECK_INT(l[1], 17 * 44 + 20);
    MT_CHECK_INT(l[2], 23 * 44 + 20);
    MT_CHECK_INT(l[0], 20 * 44 + 20);
    MT_CHECK_INT(l[22], 20 * 44 + 10);
    /* Flipped: x -> 43 - x, then point i takes old point reflect[i]: old 22 (x 10) lands at
     * point 25 with x 33; old 25 (x 18) at point 22 with x 25. */
    aug.flip = 1;
    mim_sample_landmark_labels(xy, &aug, l);
    MT_CHECK_INT(l[25], 20 * 44 + 33);
    MT_CHECK_INT(l[22], 20 * 44 + 25);
    MT_CHECK_INT(l[24], 28 * 44 + 23);
    /* far outside: clamped to the grid */
    for (int i = 0; i < 98; i++)
        xy[i] = i % 2 ? -500 : 5000;
    aug.flip = 0;
    mim_sample_landmark_labels(xy, &aug, l);
    MT_CHECK_INT(l[0], 0 * 44 + 43);
}

static void test_reflect_is_involution(void)
{
    int bad = 0;
    for (int i = 0; i < 49; i++)
        if (mim_reflect_49[mim_reflect_49[i]] != i)
            bad++;
    MT_CHECK_INT(bad, 0);
}

static void test_aug_draws(void)
{
    mim_rng r;
    mim_rng_seed(&r, 42);
    long hist_x[25] = {0}, flips = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        mim_sample_aug a;
        mim_sample_aug_draw(&r, &a);
        MT_CHECK(a.offset_x >= 0 && a.offset_x <= 24 && a.offset_y >= 0 && a.offset_y <= 24);
        if (a.offset_x >= 0 && a.offset_x <= 24)
            hist_x[a.offset_x]++;
        flips += a.flip;
    }
    double chi2 = 0, e = n / 25.0;
    for (int k = 0; k < 25; k++)
        chi2 += (hist_x[k] - e) * (hist_x[k] - e) / e;
    /* 24 degrees of freedom: the 99.99th percentile is about 59 */
    MT_CHECK(chi2 < 59);
    MT_CHECK_NEAR((double)flips / n, 0.5, 0.01);
    MT_NOTE("offset_x chi^2 %.1f (24 dof, < 59), flip rate %.4f", chi2, (double)flips / n);
}

static void test_au_weights(void)
{
    /* torch_ref.py: rates linspace(0.1, 0.5, 6) -> in_auweight of the golden export. */
    static const float golden[6] = {2.2451865673065186f, 1.2473256587982178f, 0.8635332584381104f,
                                    0.6603489518165588f, 0.534568190574646f,  0.4490372836589813f};
    static const int n_pos[6] = {5, 9, 13, 17, 21, 25}; /* of 50: 0.1, 0.18, ..., 0.5 */
    float labels[50 * 6];
    for (int i = 0; i < 50; i++)
        for (int c = 0; c < 6; c++)
            labels[i * 6 + c] = i < n_pos[c] ? 1.0f : 0.0f;
    float w[6];
    mim_sample_au_weights(labels, 50, 6, w);
    double max_err = 0;
    for (int c = 0; c < 6; c++) {
        MT_CHECK_NEAR(w[c], golden[c], 1e-6);
        max_err = fmax(max_err, fabs(w[c] - golden[c]));
    }
    MT_NOTE("AU weights vs reference in_auweight: max |diff| %.3g (tol 1e-6)", max_err);
    /* missing labels are ignored: adding 50 rows of 999 changes nothing */
    float more[100 * 6];
    memcpy(more, labels, sizeof labels);
    for (int i = 50 * 6; i < 100 * 6; i++)
        more[i] = MIM_AU_MISSING;
    float w2[6];
    mim_sample_au_weights(more, 100, 6, w2);
    for (int c = 0; c < 6; c++)
        MT_CHECK_NEAR(w2[c], w[c], 1e-6);
    /* an AU without positives gets a finite weight */
    for (int i = 0; i < 50; i++)
        labels[i * 6 + 2] = 0;
    mim_sample_au_weights(labels, 50, 6, w2);
    double sum = 0;
    for (int c = 0; c < 6; c++) {
        MT_CHECK(isfinite(w2[c]) && w2[c] > 0);
        sum += w2[c];
    }
    MT_CHECK_NEAR(sum, 6.0, 1e-5);
}

static void test_metrics(void)
{
    /* AU 0: TP 2, FP 2, FN 1, TN 0 -> F1 4/7, acc 2/5; AU 1: one missing label, all correct. */
    const float prob[5 * 2] = {0.9f, 0.1f, 0.5f, 0.7f, 0.2f, 0.3f, 0.8f, 0.49f, 0.6f, 0.6f};
    const float y[5 * 2] = {1, 0, 1, 1, 1, 0, 0, 999, 0, 1};
    mim_au_counts c;
    mim_au_counts_reset(&c, 2);
    mim_au_counts_add(&c, prob, y, 5);
    MT_CHECK_INT(c.tp[0], 2);
    MT_CHECK_INT(c.fp[0], 2);
    MT_CHECK_INT(c.fn[0], 1);
    MT_CHECK_INT(c.tn[0], 0);
    MT_CHECK_NEAR(mim_au_f1(&c, 0), 4.0 / 7.0, 1e-12);
    MT_CHECK_NEAR(mim_au_accuracy(&c, 0), 2.0 / 5.0, 1e-12);
    MT_CHECK_INT(c.tp[1] + c.fp[1] + c.fn[1] + c.tn[1], 4);
    MT_CHECK_NEAR(mim_au_f1(&c, 1), 1.0, 1e-12);
    MT_CHECK_NEAR(mim_au_accuracy(&c, 1), 1.0, 1e-12);
    MT_CHECK_NEAR(mim_au_mean_f1(&c), (4.0 / 7.0 + 1.0) / 2, 1e-12);
    MT_CHECK_NEAR(mim_au_mean_accuracy(&c), 0.7, 1e-12);
    /* no positives and no positive predictions: F1 0 (sklearn's convention) */
    mim_au_counts_reset(&c, 1);
    const float p0[2] = {0.1f, 0.2f}, y0[2] = {0, 0};
    mim_au_counts_add(&c, p0, y0, 2);
    MT_CHECK_NEAR(mim_au_f1(&c, 0), 0.0, 0);
    MT_CHECK_NEAR(mim_au_accuracy(&c, 0), 1.0, 0);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_landmark_labels);
    MT_RUN(test_landmark_labels_by_hand);
    MT_RUN(test_reflect_is_involution);
    MT_RUN(test_aug_draws);
    MT_RUN(test_au_weights);
    MT_RUN(test_metrics);
    return mt_done();
}
