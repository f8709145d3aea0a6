import Foundation
import Testing
@testable import SmallMind

/// The real models' vocabularies on strings chosen to exercise what the golden prompts do not:
/// Gemma's user-defined runs of spaces, tabs and newlines and HTML tags, its control tokens with
/// and without special-token parsing, `</s>` (user-defined in the file, a control token in
/// llama.cpp), byte fallback for control characters and emoji, no space prefix; Qwen's FIM and
/// tool-call tokens, `</s>` (an ordinary token llama.cpp makes a control token), unused `[PAD…]`
/// tokens. Expected ids: llama.cpp's `llama-tokenize --ids` (with `--no-parse-special` where
/// `parseSpecial` is false) on the same files, built from the llama-cpp-python 0.3.36 sources.
@Suite(.serialized)
struct RealModelTokenizerVectorTests {
    static let gemma: [(text: String, parseSpecial: Bool, ids: [Int])] = [
        ("Hello world", true, [2, 9259, 1902]),
        ("Hello world", false, [2, 9259, 1902]),
        (" leading space", true, [2, 5830, 2557]),
        (" leading space", false, [2, 5830, 2557]),
        ("two  spaces and   three", true, [2, 13498, 138, 35220, 532, 139, 19891]),
        ("two  spaces and   three", false, [2, 13498, 138, 35220, 532, 139, 19891]),
        ("tabs\tand\t\tmore", true, [2, 39218, 255968, 624, 255969, 5576]),
        ("tabs\tand\t\tmore", false, [2, 39218, 255968, 624, 255969, 5576]),
        ("newlines\n\nand\n\n\n\nmore\n", true, [2, 208697, 108, 624, 110, 5576, 107]),
        ("newlines\n\nand\n\n\n\nmore\n", false, [2, 208697, 108, 624, 110, 5576, 107]),
        ("<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n", true, [2, 105, 2364, 107, 10979, 106, 107, 105, 4368, 107]),
        ("<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n", false, [2, 236820, 3041, 236779, 1340, 236779, 887, 236813, 2364, 107, 10979, 236820, 643, 236779, 1340, 236779, 887, 236813, 107, 236820, 3041, 236779, 1340, 236779, 887, 236813, 4368, 107]),
        ("<b>bold</b> and <table><tr><td>1</td></tr></table>", true, [2, 200, 15640, 209, 532, 236743, 168, 173, 175, 236770, 183, 181, 176]),
        ("<b>bold</b> and <table><tr><td>1</td></tr></table>", false, [2, 200, 15640, 209, 532, 236743, 168, 173, 175, 236770, 183, 181, 176]),
        ("strike</s>through <s>x</s>", true, [2, 110095, 212, 17429, 236743, 203, 236781, 212]),
        ("strike</s>through <s>x</s>", false, [2, 110095, 954, 236751, 236813, 17429, 236743, 203, 236781, 954, 236751, 236813]),
        ("<unused5> and <mask> and [multimodal]", true, [2, 11, 532, 236743, 4, 532, 236743, 5]),
        ("<unused5> and <mask> and [multimodal]", false, [2, 236820, 63634, 236810, 236813, 532, 655, 1080, 236813, 532, 236743, 5]),
        ("emoji 😀🎉 and ñandú, 日本語テキスト", true, [2, 67906, 163543, 242061, 532, 131079, 624, 237066, 236764, 33375, 238582, 95830]),
        ("emoji 😀🎉 and ñandú, 日本語テキスト", false, [2, 67906, 163543, 242061, 532, 131079, 624, 237066, 236764, 33375, 238582, 95830]),
        ("control \u{1}\u{7} bytes", true, [2, 8607, 236743, 249732, 245, 17234]),
        ("control \u{1}\u{7} bytes", false, [2, 8607, 236743, 249732, 245, 17234]),
        ("def is_prime(n):\n    if n < 2:\n        return False", true, [2, 2063, 563, 236779, 2497, 236769, 236749, 1473, 107, 140, 584, 538, 655, 236743, 236778, 236787, 107, 144, 2060, 8450]),
        ("def is_prime(n):\n    if n < 2:\n        return False", false, [2, 2063, 563, 236779, 2497, 236769, 236749, 1473, 107, 140, 584, 538, 655, 236743, 236778, 236787, 107, 144, 2060, 8450]),
        ("Ünïcödé  \u{A0}nbsp", true, [2, 238194, 236749, 238527, 236755, 55515, 236859, 138, 432, 398, 11539]),
        ("Ünïcödé  \u{A0}nbsp", false, [2, 238194, 236749, 238527, 236755, 55515, 236859, 138, 432, 398, 11539]),
        ("<bos>text<eos>", true, [2, 2, 1005, 1]),
        ("<bos>text<eos>", false, [2, 236820, 46757, 236813, 1005, 236820, 211827, 236813]),
        ("a<start_of_image>b", true, [2, 236746, 255999, 236763]),
        ("a<start_of_image>b", false, [2, 236746, 255999, 236763]),
        ("                                        forty spaces", true, [2, 167, 145, 3467, 236762, 9952]),
        ("                                        forty spaces", false, [2, 167, 145, 3467, 236762, 9952]),
        (" ", true, [2, 236743]),
        (" ", false, [2, 236743]),
        ("\n", true, [2, 107]),
        ("\n", false, [2, 107]),
    ]
    static let qwen: [(text: String, parseSpecial: Bool, ids: [Int])] = [
        ("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", true, [151644, 8948, 198, 2610, 525, 10950, 13, 151645, 198, 151644, 872, 198, 13048, 151645, 198, 151644, 77091, 198]),
        ("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", false, [27, 91, 318, 4906, 91, 29, 8948, 198, 2610, 525, 10950, 15757, 91, 318, 6213, 91, 397, 27, 91, 318, 4906, 91, 29, 872, 198, 13048, 27, 91, 318, 6213, 91, 397, 27, 91, 318, 4906, 91, 29, 77091, 198]),
        ("strike</s>through <s>x</s>", true, [73004, 128247, 19742, 366, 82, 28257, 128247]),
        ("strike</s>through <s>x</s>", false, [73004, 522, 82, 29, 19742, 366, 82, 28257, 522, 82, 29]),
        ("<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>", true, [151659, 750, 282, 4555, 151661, 198, 151660]),
        ("<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>", false, [27, 91, 69, 318, 13974, 91, 29, 750, 282, 4555, 27, 91, 69, 318, 37151, 91, 397, 27, 91, 69, 318, 62580, 91, 29]),
        ("<tool_call>{\"a\": 1}</tool_call>", true, [151657, 4913, 64, 788, 220, 16, 92, 151658]),
        ("<tool_call>{\"a\": 1}</tool_call>", false, [151657, 4913, 64, 788, 220, 16, 92, 151658]),
        ("[PAD151665] and <|endoftext|>", true, [42347, 1808, 16, 20, 16, 21, 21, 20, 60, 323, 220, 151643]),
        ("[PAD151665] and <|endoftext|>", false, [42347, 1808, 16, 20, 16, 21, 21, 20, 60, 323, 82639, 8691, 723, 427, 91, 29]),
        ("Numbers 1234567 and 3.14, émigré 😀 日本語", true, [27237, 220, 16, 17, 18, 19, 20, 21, 22, 323, 220, 18, 13, 16, 19, 11, 3958, 76, 5233, 963, 90316, 75402, 21894, 102819]),
        ("Numbers 1234567 and 3.14, émigré 😀 日本語", false, [27237, 220, 16, 17, 18, 19, 20, 21, 22, 323, 220, 18, 13, 16, 19, 11, 3958, 76, 5233, 963, 90316, 75402, 21894, 102819]),
        ("  two spaces\n\n\ttab\r\nend  ", true, [220, 1378, 12621, 271, 58149, 319, 408, 256]),
        ("  two spaces\n\n\ttab\r\nend  ", false, [220, 1378, 12621, 271, 58149, 319, 408, 256]),
        ("don't STOP'LL", true, [15007, 944, 45537, 6, 4086]),
        ("don't STOP'LL", false, [15007, 944, 45537, 6, 4086]),
    ]

    static func check(_ model: String, _ vectors: [(text: String, parseSpecial: Bool, ids: [Int])]) throws {
        let tokenizer = try GGUFTokenizer.load(from: GGUFFile(path: RealModels.path(model)))
        for vector in vectors {
            let ids = try tokenizer.encode(vector.text, addBOS: true, parseSpecial: vector.parseSpecial)
            #expect(ids == vector.ids, "\(model), parseSpecial \(vector.parseSpecial): \(vector.text.debugDescription)")
            // Without special tokens parsed, every string comes back from its ids.
            if !vector.parseSpecial {
                #expect(tokenizer.decode(ids) == vector.text, "\(model): \(vector.text.debugDescription)")
            }
        }
    }

    @Test(.enabled(if: RealModels.available(RealModels.gemma), RealModels.skipReason(RealModels.gemma)))
    func gemmaEncodesAsLlamaCpp() throws {
        try Self.check(RealModels.gemma, Self.gemma)
    }

    @Test(.enabled(if: RealModels.available(RealModels.qwen), RealModels.skipReason(RealModels.qwen)))
    func qwenEncodesAsLlamaCpp() throws {
        try Self.check(RealModels.qwen, Self.qwen)
    }
}
