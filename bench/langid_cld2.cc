// langid_cld2 - the CLD2 side of bench/langid.sh, for comparison only:
// never linked into revpipe.  Built by bench/langid.sh with g++ -lcld2.
//
// usage: langid_cld2 TEXTS PREDICTIONS [REPEAT]
// TEXTS holds one text per line (newlines inside texts already folded).
// Writes one ISO 639-1 code per line to PREDICTIONS ("und" when CLD2 says
// unknown) and prints "cld2: N texts/s, M MB/s" for the detection calls
// alone (texts in memory, one thread, best-effort mode).
#include <cstdio>

#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

int
main(int argc, char **argv)
{
	if (argc < 3) {
		std::cerr << "usage: langid_cld2 TEXTS PREDICTIONS [REPEAT]\n";
		return 2;
	}
	int repeat = argc > 3 ? std::atoi(argv[3]) : 1;
	std::ifstream in(argv[1]);
	std::vector<std::string> texts;
	std::string line;
	size_t bytes = 0;
	while (std::getline(in, line)) {
		bytes += line.size();
		texts.push_back(line);
	}
	std::vector<CLD2::Language> out(texts.size());
	CLD2::CLDHints hints = { NULL, NULL, CLD2::UNKNOWN_ENCODING,
	    CLD2::UNKNOWN_LANGUAGE };
	auto t0 = std::chrono::steady_clock::now();
	for (int r = 0; r < repeat; r++)
		for (size_t i = 0; i < texts.size(); i++) {
			CLD2::Language l3[3];
			int pct[3], tb;
			double ns[3];
			bool rel;
			out[i] = CLD2::ExtDetectLanguageSummary(texts[i].data(),
			    (int)texts[i].size(), true, &hints,
			    CLD2::kCLDFlagBestEffort, l3, pct, ns, NULL, &tb,
			    &rel);
		}
	double dt = std::chrono::duration<double>(
	    std::chrono::steady_clock::now() - t0).count();
	std::ofstream pf(argv[2]);
	for (size_t i = 0; i < texts.size(); i++) {
		std::string c = CLD2::LanguageCode(out[i]);
		size_t dash = c.find('-');
		if (dash != std::string::npos)
			c = c.substr(0, dash);
		if (c == "un" || c == "xxx")
			c = "und";
		if (c == "iw")
			c = "he";
		pf << c << "\n";
	}
	std::printf("speed %.0f texts/s, %.1f MB/s (cld2, one thread, %d "
	    "pass%s)\n", texts.size() * repeat / dt, bytes * repeat / 1e6 / dt,
	    repeat, repeat == 1 ? "" : "es");
	return 0;
}
