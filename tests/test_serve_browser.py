"""The page of `framing serve` in a real browser (Debian's chromium + chromedriver, via selenium):
paste the seed article, score it, compare the highlighted sentences and the profile with the HTML
report's, move a threshold slider, check escaping and a phone-width window, save screenshots
(in $FRAMING_SCREENSHOTS when set, else the test's temporary folder). It serves the tiny test model,
or $FRAMING_SCREENSHOT_MODEL when set: the README's screenshots are of the release model,

    FRAMING_SCREENSHOTS=docs FRAMING_SCREENSHOT_MODEL=runs/e5-small pytest tests/test_serve_browser.py"""

import html
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import SEED

from framing.eval.serveload import running_server
from framing.model.framer import Framer
from framing.report import SHORT, to_html

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SPAN = re.compile(r'<span class="(s[^"]*)" style="--c:([^"]*)" title="([^"]*)">(.*?)</span>', re.S)


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium and chromedriver are missing; .ci/run installs them (apt-get install chromium chromium-driver)")
        pytest.skip("chromium/chromedriver not found: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def score_in_page(driver, text):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    box = driver.find_element(By.ID, "text")
    box.clear()
    driver.execute_script("arguments[0].value = arguments[1]", box, text)  # a paste
    driver.find_element(By.ID, "score").click()
    WebDriverWait(driver, 120).until(ec.text_to_be_present_in_element((By.ID, "status"), "Scored"))
    return driver.find_elements(By.CSS_SELECTOR, "#results span.s")


def tooltip(title):  # "label: 0.123 ✓" lines -> [0.123, 1.0 (checked) or 0.0, ...]
    return [x for line in title.split("\n") for x in (float(line.split(": ")[1].split()[0]), float(line.endswith("✓")))]


def page_sentences(driver):
    return driver.execute_script("""return [...document.querySelectorAll('#results span.s')].map(s =>
        [s.className, s.style.getPropertyValue('--c'), s.title, s.textContent])""")


@pytest.mark.slow
def test_page_in_a_real_browser(browser, request, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    shots = Path(os.environ.get("FRAMING_SCREENSHOTS") or tmp_path)
    model = os.environ.get("FRAMING_SCREENSHOT_MODEL") or request.getfixturevalue("trained_tiny")
    seed = SEED.read_text(encoding="utf-8")
    framer = Framer.load(model)
    doc = framer.score_documents([("text", seed)])[0]
    with running_server(model) as (url, _):
        browser.get(url)
        score_in_page(browser, seed)
        # the sentences are highlighted exactly as in the HTML report
        report = [[cls, colour, html.unescape(tip), html.unescape(text)] for cls, colour, tip, text in SPAN.findall(to_html([doc], "m", framer.thresholds))]
        page = page_sentences(browser)
        assert len(page) == len(report) == len(doc.sentences) > 30
        for shown, expected in zip(page, report):  # a separate process may differ in the last bit: tooltips to 0.001
            assert shown[:2] + shown[3:] == expected[:2] + expected[3:]
            assert tooltip(shown[2]) == pytest.approx(tooltip(expected[2]), abs=0.0011), (shown, expected)
        assert browser.find_elements(By.CSS_SELECTOR, ".legend span")
        counts = {r.get_attribute("data-label"): int(r.find_elements(By.TAG_NAME, "td")[1].text)
                  for r in browser.find_elements(By.CSS_SELECTOR, "table.profile tr[data-label]")}
        assert counts == {label: v["count"] for label, v in doc.profile().items()}
        browser.execute_script("(document.querySelector('#results .framed') || document.body).scrollIntoView({block: 'center'})")
        browser.save_screenshot(str(shots / "serve-page.png"))

        # a slider re-decides the labels in the page, without a request
        label = min(counts, key=counts.get)
        slider = browser.find_element(By.CSS_SELECTOR, f".sliders input[data-label='{label}']")
        slider.send_keys(Keys.HOME)  # threshold 0: every sentence carries the label
        assert slider.get_attribute("value") == "0"
        tags = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#results .tag")]
        assert tags.count(SHORT[label]) == len(doc.sentences) > counts[label]
        row = browser.find_element(By.CSS_SELECTOR, f"table.profile tr[data-label='{label}']")
        assert row.find_elements(By.TAG_NAME, "td")[2].text == "100%"
        assert browser.execute_script("return performance.getEntriesByType('resource').every(e => e.name.startsWith(location.origin))")

        # user text is text: a <script> in an article shows as text and does not run
        attack = "<script>window.pwned = 1</script><b>굵게</b> 무장 테러리스트들이 공항을 공격했다."
        spans = score_in_page(browser, attack)
        assert "<script>window.pwned = 1</script>" in "".join(s.text for s in spans)
        assert browser.execute_script("return window.pwned === undefined && !document.querySelector('#results b, #results script')")

        # a phone-width window: no sideways scrolling
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
        score_in_page(browser, seed)
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
        browser.execute_script("document.getElementById('controls').scrollIntoView()")
        browser.save_screenshot(str(shots / "serve-page-phone.png"))
