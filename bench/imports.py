"""A 10,000-row spreadsheet import of project leads at county scale: preview, then registering every row.

Builds a workbook of 10,000 leads (one investor in ten already has open projects in the
database, so the duplicate check finds real candidates among 100,000 projects, and no row is a
duplicate, so the whole file registers) and times, in one transaction that is rolled back at
the end so the database is left as it was:
- the preview: reading the sheet, every row validated as a registration, duplicates looked up
  through the investor index;
- the import: the same check again, then every row registered and its lifecycle started.
Target: ≤ 30 s for the whole import. Prints the load next to the figures.

Run on a kept county fill (`bench/pages.py --keep DIR`):
`python bench/imports.py sqlite:///DIR/full.db`; with no URL, the demo county in a temporary file.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from engine import demo, wiring  # noqa: E402
from engine.platform import permissions, schema, xlsx  # noqa: E402
from engine.platform.config import PROJECT_ROOT  # noqa: E402
from engine.platform.db import Database  # noqa: E402
from engine.platform.models import OrgUnit, Project, User  # noqa: E402
from engine.projects import excel, lifecycle  # noqa: E402
from engine.workflow import definitions  # noqa: E402

ROWS = 10_000
CHARACTERS = "华新宏远盛泰丰裕嘉禾瑞祥恒信德隆鑫源博创智联科达金石银河天成云海长青绿洲明辉星辰东方西岭南山北湖"


class LeftAsItWas(Exception):
    """Raised at the end of the timed transaction so that it rolls back."""


def words(seed: int, length: int) -> str:
    """A made-up name of `length` characters, different enough from any other seed's to pass the duplicate check."""
    chosen = random.Random(seed).sample(CHARACTERS, length)
    return "".join(chosen)


def workbook(db: Database, rows: int) -> bytes:
    """A leads workbook in the import's own headers, with the county's real unit and deputy names."""
    with db.session() as s:
        towns = [u.name for u in s.scalars(select(OrgUnit).where(OrgUnit.kind == "town"))]
        deputies = [u.display_name for u in s.scalars(select(User)) if permissions.allowed(u, "project.take_charge")]
        known = list(s.scalars(select(Project.investor).distinct().where(Project.investor != "").limit(rows // 10)))
    headers = list(excel.IMPORT_HEADERS)
    lines = []
    for n in range(rows):
        investor = known[n // 10] if n % 10 == 0 and n // 10 < len(known) else f"{words(n, 4)}投资有限公司"
        values = {
            "项目名称": f"{words(n * 7 + 3, 6)}项目", "投资方": investor, "产业类别": "工业", "是否制造业": "是",
            "总投资(万元)": 5000 + n % 900, "固定资产投资(万元)": 3000, "利用外资(万元)": 0, "省外内资(万元)": 1000,
            "是否供地": "否", "用地面积(亩)": "", "招引方式": "", "招引单位": towns[n % len(towns)],
            "落地单位": towns[(n + 1) % len(towns)], "分管县领导": deputies[n % len(deputies)], "联系人": "张三", "联系电话": "13800000000",
        }
        lines.append([values[h] for h in headers])
    return xlsx.sheet("项目线索", headers, lines, "项目线索导入")


def main() -> None:
    """Time the preview and the import of one workbook, rolled back."""
    wiring.install()
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?", help="database to import into (rolled back); default: the demo county in a temporary file")
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(args.url or f"sqlite:///{tmp}/imports.db")
        if not args.url:
            schema.upgrade(db)
            with db.session() as s:
                demo.load_org(s)
                definitions.deploy(s, definitions.read_bundle(PROJECT_ROOT / "bpmn"), lifecycle.LIFECYCLE)
        content = workbook(db, args.rows)
        with db.engine.connect() as conn:
            projects = conn.scalar(select(Project.id).order_by(Project.id.desc()).limit(1)) or 0
        try:
            with db.session() as s:
                office = s.scalars(select(User).where(User.username == "bangongshi")).one()
                t0 = time.perf_counter()
                checked = excel.preview(s, content)
                t1 = time.perf_counter()
                ids = excel.commit(s, content, office)
                t2 = time.perf_counter()
                raise LeftAsItWas
        except LeftAsItWas:
            pass
        db.dispose()
    flagged = sum(1 for r in checked.rows if r.errors or r.duplicates)
    print(f"import of {args.rows:,} leads into a database of about {projects:,} projects ({len(content) / 2**20:.2f} MB workbook)")
    print(f"preview (read, validate, duplicate check) : {t1 - t0:7.2f} s  ({flagged} rows flagged)")
    print(f"import (check again, register every row) : {t2 - t1:7.2f} s  ({len(ids):,} projects registered)  target <= 30 s")
    print(f"load average (1, 5, 15 min)               : {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
