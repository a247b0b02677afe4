"""Accessibility checks for the browser tests: an axe-core audit of the page as shown,
and the measurements the audit cannot make (sideways scrolling, touch target sizes).

axe-core comes from npm into tests/browser/vendor/axe-core (see its README): it is
test tooling, never served by Desk.
"""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA: every rule axe-core tags with one of these.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SERIOUS = ("serious", "critical")

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({
      target: n.target.join(" "), impact: n.impact,
      summary: (n.failureSummary || "").split("\\n").slice(1, 2).join(" ").trim(),
    })),
  }));
}"""


def axe_violations(page, *, impacts: tuple[str, ...] = SERIOUS) -> list[dict]:
    """axe-core's WCAG 2.2 A/AA violations on the page as it is now, those of `impacts`."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE, WCAG_AA)
    kept = []
    for violation in found:
        nodes = [n for n in violation["nodes"] if (n["impact"] or violation["impact"]) in impacts]
        if nodes:
            kept.append({**violation, "nodes": nodes})
    return kept


def describe(violations: list[dict], limit: int = 6) -> str:
    """A readable list: each rule, how many elements, and the first few of them."""
    lines = []
    for v in violations:
        lines.append(f"  {v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']}")
        for node in v["nodes"][:limit]:
            lines.append(f"      {node['target']}  {node['summary']}")
        if len(v["nodes"]) > limit:
            lines.append(f"      … and {len(v['nodes']) - limit} more")
    return "\n".join(lines)


def count(violations: list[dict]) -> int:
    return sum(len(v["nodes"]) for v in violations)


OVERFLOW = """() => {
  const doc = document.scrollingElement;
  const width = window.innerWidth;
  const wider = [];
  if (doc.scrollWidth > width) {
    // The elements that stick out, outermost first, for a readable failure.
    for (const el of document.body.querySelectorAll("*")) {
      const box = el.getBoundingClientRect();
      if (box.width && box.right > width + 1 && !el.closest("[hidden]")) {
        const parent = el.parentElement && el.parentElement.getBoundingClientRect();
        if (!parent || parent.right <= width + 1) {
          const classes = typeof el.className === "string" ? el.className.trim() : "";
          wider.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
            (classes ? "." + classes.split(/\\s+/).join(".") : "") +
            " right=" + Math.round(box.right));
        }
      }
    }
  }
  return { scrollWidth: doc.scrollWidth, width, wider: wider.slice(0, 8) };
}"""


def horizontal_overflow(page) -> dict | None:
    """None when the page fits its viewport's width; otherwise its scroll width and the
    outermost elements that stick out."""
    found = page.evaluate(OVERFLOW)
    return found if found["scrollWidth"] > found["width"] else None


# Touch targets: what a thumb has to hit. Every visible, enabled control a person
# operates: buttons (and [role=button], <summary>), text fields, selects and file inputs;
# for a checkbox or radio button its label (the label is the target, the box is tiny);
# a file input's label; and the links that are controls rather than words in a sentence:
# the header's and the menu's, the inbox's filters, the range presets, pagers, "← Inbox",
# and any link styled as a button.
# Links inside running text (a paragraph, a table cell's words, a message) are exempt,
# as WCAG 2.5.8 exempts inline targets.
TARGETS = """(minimum) => {
  const controls = new Set();
  const add = (el) => el && controls.add(el);
  document.querySelectorAll(
    "button, [role=button], summary, select, textarea, " +
    "input:not([type=hidden]):not([type=checkbox]):not([type=radio]), " +
    "nav a, .facet a, a.button, a.back, .pager a, .presets a, .me a, " +
    "label:has(> input[type=file])"
  ).forEach(add);
  document.querySelectorAll("input[type=checkbox], input[type=radio]").forEach((box) => {
    const label = box.id && document.querySelector(`label[for="${box.id}"]`);
    add(box.closest("label") || label || box);
  });
  const small = [];
  for (const el of controls) {
    if (el.closest("[hidden], [inert], .visually-hidden") || el.disabled) continue;
    if (el.matches("input[type=file]") && el.closest("label")) continue;  // its label is the target
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) continue;  // not shown
    if (box.width < minimum - 0.5 || box.height < minimum - 0.5) {
      const text = (el.getAttribute("aria-label") || el.textContent || el.name || "")
        .trim().replace(/\\s+/g, " ");
      small.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${text.slice(0, 40)}" ` +
                 `${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  return small;
}"""


def small_targets(page, minimum: int = 44) -> list[str]:
    """The controls (see TARGETS) smaller than minimum × minimum CSS pixels."""
    return page.evaluate(TARGETS, minimum)
