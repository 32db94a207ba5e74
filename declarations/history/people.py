"""The buyers of the history: people with valid resident ID numbers, names, phones and addresses.

A few buyers order often and most rarely: the pool is drawn Zipf-like (weight 1/rank), with the
heaviest buyers capped at about ``BUSY_BUYER_LISTS_A_YEAR`` lists a year, as the annual quota
(26,000 CNY) caps real ones; without the cap the first buyer of a million-list history would
hold tens of thousands of lists.

Each buyer's ID number is encrypted and hashed once (``protect_id_number``) and the ciphertext
reused on every document that names the buyer: the same thing the single window would have
stored, at a thousandth of the cost.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass

from declarations.intake.identity import protect_id_number, resident_id_check_character

# A busy buyer's lists a year (at an average basket of about 300 CNY, near the annual quota).
BUSY_BUYER_LISTS_A_YEAR = 60
# Ages of the buyers: most are 25 to 40.
AGE_LOW, AGE_MODE, AGE_HIGH = 19, 31, 62


@dataclass(frozen=True)
class Region:
    """A county-level division: the first six digits of an ID number and an address."""

    code: str
    province: str
    city: str
    district: str
    weight: float


# Where cross-border buyers live: the large coastal cities first.
REGIONS: tuple[Region, ...] = (
    Region("310104", "上海市", "上海市", "徐汇区", 9),
    Region("310115", "上海市", "上海市", "浦东新区", 12),
    Region("110105", "北京市", "北京市", "朝阳区", 10),
    Region("110108", "北京市", "北京市", "海淀区", 8),
    Region("440305", "广东省", "深圳市", "南山区", 8),
    Region("440106", "广东省", "广州市", "天河区", 7),
    Region("330106", "浙江省", "杭州市", "西湖区", 6),
    Region("330110", "浙江省", "杭州市", "余杭区", 5),
    Region("330212", "浙江省", "宁波市", "鄞州区", 3),
    Region("320106", "江苏省", "南京市", "鼓楼区", 4),
    Region("320505", "江苏省", "苏州市", "虎丘区", 4),
    Region("510107", "四川省", "成都市", "武侯区", 5),
    Region("500103", "重庆市", "重庆市", "渝中区", 3),
    Region("420106", "湖北省", "武汉市", "武昌区", 4),
    Region("430104", "湖南省", "长沙市", "岳麓区", 3),
    Region("370202", "山东省", "青岛市", "市南区", 3),
    Region("350203", "福建省", "厦门市", "思明区", 3),
    Region("120101", "天津市", "天津市", "和平区", 2),
    Region("610113", "陕西省", "西安市", "雁塔区", 3),
    Region("410105", "河南省", "郑州市", "金水区", 3),
    Region("340104", "安徽省", "合肥市", "蜀山区", 2),
    Region("210202", "辽宁省", "大连市", "中山区", 2),
    Region("530102", "云南省", "昆明市", "五华区", 1.5),
    Region("360102", "江西省", "南昌市", "东湖区", 1.5),
)
STREETS = (
    "人民路", "解放路", "中山路", "建设路", "文三路", "学院路", "南京路", "长江路", "和平路", "新华路",
    "滨江大道", "青年路", "光明路", "科技路", "世纪大道", "东风路", "湖滨路", "迎宾路", "幸福路", "园区路",
)  # fmt: skip
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华玉萍红玲芬燕彬鹏辉建文志浩宇欣怡涵轩诺桐远晨琳婷雪慧佳颖"
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "158",
    "159", "176", "177", "180", "181", "182", "185", "186", "187", "188", "189", "198", "199",
)  # fmt: skip
ACCOUNT_PREFIXES = ("tb", "jd", "u", "vip", "m")


def _cumulative(weights: list[float]) -> list[float]:
    return list(itertools.accumulate(weights))


@dataclass(frozen=True, slots=True)
class Buyer:
    """A buyer as the documents name them; ``id_number`` is kept only for the tests' checks."""

    id_number: str
    id_encrypted: str
    id_hash: str
    name: str
    telephone: str
    reg_no: str
    address: str
    district: str
    consignee: str
    consignee_telephone: str


class BuyerPool:
    """``size`` buyers, met in Zipf order (``draw``) and made up the first time they are met
    (``buyer``). ``lists_a_year`` is how many lists the whole history makes a year: it sets
    the cap on the busiest buyers."""

    def __init__(self, *, size: int, lists_a_year: float, rng: random.Random, birth_year_now: int) -> None:
        self.size = size
        self._rng = rng
        self._birth_year_now = birth_year_now
        self._people: dict[int, Buyer] = {}
        self._taken_numbers: set[str] = set()
        self._region_weights = _cumulative([r.weight for r in REGIONS])
        self._cumulative = _cumulative(_capped_zipf(size, lists_a_year))
        self._total = self._cumulative[-1]

    def draw(self) -> int:
        """A buyer's index; the first indices come back most often."""
        return min(bisect.bisect_right(self._cumulative, self._rng.random() * self._total), self.size - 1)

    def buyer(self, index: int) -> Buyer:
        person = self._people.get(index)
        if person is None:
            person = self._people[index] = self._make()
        return person

    def _make(self) -> Buyer:
        rng = self._rng
        region = REGIONS[bisect.bisect_right(self._region_weights, rng.random() * self._region_weights[-1])]
        id_number = self._id_number(region)
        encrypted, digest = protect_id_number(id_number)
        name = _name(rng)
        telephone = _mobile(rng)
        address = (
            f"{region.province}{region.city}{region.district}{rng.choice(STREETS)}{rng.randint(1, 999)}号"
            f"{rng.randint(1, 30)}幢{rng.randint(1, 4)}单元{rng.randint(1, 33)}0{rng.randint(1, 6)}室"
        )
        # Most buyers have their parcels sent to themselves; some to someone at the same address.
        consignee, consignee_telephone = (name, telephone) if rng.random() < 0.85 else (_name(rng), _mobile(rng))
        return Buyer(
            id_number=id_number,
            id_encrypted=encrypted,
            id_hash=digest,
            name=name,
            telephone=telephone,
            reg_no=f"{rng.choice(ACCOUNT_PREFIXES)}{rng.getrandbits(40):010x}",
            address=address,
            district=region.code,
            consignee=consignee,
            consignee_telephone=consignee_telephone,
        )

    def _id_number(self, region: Region) -> str:
        """A valid, unused resident ID number (GB 11643) of someone living in ``region``."""
        rng = self._rng
        while True:
            age = round(rng.triangular(AGE_LOW, AGE_HIGH, AGE_MODE))
            birth = f"{self._birth_year_now - age:04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            first17 = f"{region.code}{birth}{rng.randint(0, 999):03d}"
            number = first17 + resident_id_check_character(first17)
            if number not in self._taken_numbers:
                self._taken_numbers.add(number)
                return number


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def _mobile(rng: random.Random) -> str:
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 99_999_999):08d}"


def _capped_zipf(size: int, lists_a_year: float) -> list[float]:
    """Weights 1/rank, the heaviest cut down to one share so that the busiest buyer makes about
    ``BUSY_BUYER_LISTS_A_YEAR`` lists a year.

    Capping the first m weights at the m-th gives each of them the share 1 / (m + S_m / w_m),
    where S_m is the sum of the weights from the m-th on; the share falls as m grows, so the
    smallest m whose share is low enough is found by bisection.
    """
    weights = [1.0 / rank for rank in range(1, size + 1)]
    tail = list(itertools.accumulate(reversed(weights)))[::-1]  # tail[m]: the sum from m on
    allowed = BUSY_BUYER_LISTS_A_YEAR / max(lists_a_year, 1.0)

    def share(m: int) -> float:
        return 1.0 / (m + tail[m] / weights[m])

    low, high = 0, size - 1
    if share(low) > allowed:
        while low < high:
            middle = (low + high) // 2
            if share(middle) <= allowed:
                high = middle
            else:
                low = middle + 1
        cap = weights[low]
        weights[:low] = [cap] * low
    return weights
