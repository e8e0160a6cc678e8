"""The demo course's data: the model-serving seminar's people, papers, schedule, reviews and
panel, as plain values. ``demo.course`` loads them through the domain's operations, at times
placed relative to the moment of loading."""
from __future__ import annotations

from datetime import time
from typing import NamedTuple, Optional

DEMO_PASSWORD = "colloquy-demo"

COURSE_CODE = "CS 598"
COURSE_TITLE = "Model-Serving Systems for Generative AI"
COURSE_ZONE = "America/Chicago"
CLASS_STARTS = time(14, 0)
CLASS_ROOM = "Siebel Center 1304"
CLASS_MINUTES = 90
# The instructor's settings: presentations alone, project groups of two, late reviews accepted
# with a penalty.
SETTINGS = {"presentation_group_size": 1, "project_group_max": 2, "late_policy": "accept", "late_penalty_per_day": 10.0}
# The students signed up for their slots this long before the demo is loaded.
SIGNUP_DAYS_AGO = 21

INSTRUCTOR = ("instructor@colloquy.test", "Prof. Ada Lin")
TA = ("ta@colloquy.test", "Rahul Mehta")
# Students are referred to by their number below (1 = student01@colloquy.test).
STUDENT_NAMES = (
    "Priya Natarajan",
    "Jonas Weber",
    "Amara Okafor",
    "Diego Hernández",
    "Mei Chen",
    "Tomás Silva",
    "Hannah Kim",
    "Yusuf Demir",
    "Sofia Rossi",
    "Liam O'Connor",
    "Aisha Rahman",
    "Noah Fischer",
)

# --------------------------------------------------------------------------- papers

DATACENTERS = "Datacenters and cloud"
DNN_SERVING = "Pre-GenAI DNN serving"
BATCHING = "Batching"
MEMORY = "Memory and KV-cache management"
SCHEDULING = "Scheduling and load balancing"
COMPOUND = "Compound AI systems and RAG"


class PaperData(NamedTuple):
    key: str
    title: str
    authors: str
    venue: str
    year: int
    url: str
    topic: str
    abstract: str


PAPERS = (
    PaperData(
        "wsc",
        "The Datacenter as a Computer: Designing Warehouse-Scale Machines",
        "Luiz André Barroso, Urs Hölzle, Parthasarathy Ranganathan",
        "Synthesis Lectures on Computer Architecture",
        2018,
        "https://doi.org/10.2200/S00874ED3V01Y201809CAC046",
        DATACENTERS,
        "A book-length view of the warehouse-scale computer as one machine, from power delivery "
        "and cooling to cluster software. It explains why tail latency, energy proportionality "
        "and failure handling dominate the design of services that run on thousands of servers.",
    ),
    PaperData(
        "clipper",
        "Clipper: A Low-Latency Online Prediction Serving System",
        "Daniel Crankshaw, Xin Wang, Giulio Zhou, Michael J. Franklin, Joseph E. Gonzalez, Ion Stoica",
        "NSDI",
        2017,
        "https://www.usenix.org/conference/nsdi17/technical-sessions/presentation/crankshaw",
        DNN_SERVING,
        "Clipper puts a general-purpose layer between applications and machine-learning "
        "frameworks. Adaptive batching, caching and model selection let it meet latency targets "
        "while hiding which framework runs each model.",
    ),
    PaperData(
        "clockwork",
        "Serving DNNs like Clockwork: Performance Predictability from the Bottom Up",
        "Arpan Gujarati, Reza Karimi, Safya Alzayat, Wei Hao, Antoine Kaufmann, Ymir Vigfusson, "
        "Jonathan Mace",
        "OSDI",
        2020,
        "https://www.usenix.org/conference/osdi20/presentation/gujarati",
        DNN_SERVING,
        "DNN inference on a GPU takes an almost fixed time, and Clockwork builds on that: it "
        "removes every source of variability from the stack and centralises all decisions, so "
        "the controller can predict when each request will finish and meet tight latency "
        "objectives for thousands of models.",
    ),
    PaperData(
        "infaas",
        "INFaaS: Automated Model-less Inference Serving",
        "Francisco Romero, Qian Li, Neeraja J. Yadwadkar, Christos Kozyrakis",
        "USENIX ATC",
        2021,
        "https://www.usenix.org/conference/atc21/presentation/romero",
        DNN_SERVING,
        "Developers state what they need (accuracy, latency, cost) instead of picking a model "
        "variant and hardware. INFaaS chooses among generated variants at run time and scales "
        "them as load changes.",
    ),
    PaperData(
        "orca",
        "Orca: A Distributed Serving System for Transformer-Based Generative Models",
        "Gyeong-In Yu, Joo Seong Jeong, Geon-Woo Kim, Soojeong Kim, Byung-Gon Chun",
        "OSDI",
        2022,
        "https://www.usenix.org/conference/osdi22/presentation/yu",
        BATCHING,
        "Generation runs one iteration per token, yet earlier systems batched whole requests. "
        "Orca schedules at the granularity of iterations, letting finished sequences leave and "
        "new ones join the batch, and applies batching selectively to the operations that allow it.",
    ),
    PaperData(
        "vllm",
        "Efficient Memory Management for Large Language Model Serving with PagedAttention",
        "Woosuk Kwon, Zhuohan Li, Siyuan Zhuang, Ying Sheng, Lianmin Zheng, Cody Hao Yu, "
        "Joseph E. Gonzalez, Hao Zhang, Ion Stoica",
        "SOSP",
        2023,
        "https://arxiv.org/abs/2309.06180",
        MEMORY,
        "Key-value caches grow and shrink unpredictably during decoding, and reserving them "
        "contiguously wastes much of GPU memory. PagedAttention stores them in small blocks in "
        "the manner of virtual-memory pages; the vLLM engine built on it batches more requests "
        "and shares cache between sequences.",
    ),
    PaperData(
        "flexgen",
        "FlexGen: High-Throughput Generative Inference of Large Language Models with a Single GPU",
        "Ying Sheng, Lianmin Zheng, Binhang Yuan, Zhuohan Li, Max Ryabinin, Daniel Y. Fu, "
        "Zhiqiang Xie, Beidi Chen, Clark Barrett, Joseph E. Gonzalez, Percy Liang, "
        "Christopher Ré, Ion Stoica, Ce Zhang",
        "ICML",
        2023,
        "https://arxiv.org/abs/2303.06865",
        MEMORY,
        "For batch jobs that tolerate latency, FlexGen runs very large models on one commodity "
        "GPU by spreading weights, activations and cache over GPU, CPU and disk. A linear "
        "program picks the offloading schedule, and 4-bit compression cuts the traffic further.",
    ),
    PaperData(
        "distserve",
        "DistServe: Disaggregating Prefill and Decoding for Goodput-optimized Large Language "
        "Model Serving",
        "Yinmin Zhong, Shengyu Liu, Junda Chen, Jianbo Hu, Yibo Zhu, Xuanzhe Liu, Xin Jin, Hao Zhang",
        "OSDI",
        2024,
        "https://www.usenix.org/conference/osdi24/presentation/zhong-yinmin",
        SCHEDULING,
        "Prefill and decoding have different resource profiles and latency targets, and putting "
        "them on the same GPUs makes them interfere. DistServe places the two phases on "
        "separate instances, chooses parallelism for each, and measures success as goodput "
        "under both first-token and per-token objectives.",
    ),
    PaperData(
        "splitwise",
        "Splitwise: Efficient Generative LLM Inference Using Phase Splitting",
        "Pratyush Patel, Esha Choukse, Chaojie Zhang, Aashaka Shah, Íñigo Goiri, Saeed Maleki, "
        "Ricardo Bianchini",
        "ISCA",
        2024,
        "https://arxiv.org/abs/2311.18677",
        SCHEDULING,
        "Characterising production traces, the authors find the prompt phase compute-bound and "
        "the token phase memory-bound. Splitwise runs them on different machine pools, possibly "
        "of different hardware generations, and moves the cache between them.",
    ),
    PaperData(
        "sarathi",
        "Taming Throughput-Latency Tradeoff in LLM Inference with Sarathi-Serve",
        "Amey Agrawal, Nitin Kedia, Ashish Panwar, Jayashree Mohan, Nipun Kwatra, "
        "Bhargav S. Gulavani, Alexey Tumanov, Ramachandran Ramjee",
        "OSDI",
        2024,
        "https://www.usenix.org/conference/osdi24/presentation/agrawal",
        SCHEDULING,
        "Long prompts stall ongoing decodes when batched naively. Sarathi-Serve cuts prefills "
        "into chunks and builds stall-free batches that mix them with decode steps, raising "
        "throughput within a tail-latency budget.",
    ),
    PaperData(
        "compound",
        "The Shift from Models to Compound AI Systems",
        "Matei Zaharia, Omar Khattab, Lingjiao Chen, Jared Quincy Davis, Heather Miller, "
        "Chris Potts, James Zou, Michael Carbin, Jonathan Frankle, Naveen Rao, Ali Ghodsi",
        "BAIR Blog",
        2024,
        "https://bair.berkeley.edu/blog/2024/02/18/compound-ai-systems/",
        COMPOUND,
        "State-of-the-art results increasingly come from systems that chain several model "
        "calls, retrievers and tools. The essay argues this changes what must be optimised and "
        "served, and surveys the open problems it raises.",
    ),
    PaperData(
        "ragcache",
        "RAGCache: Efficient Knowledge Caching for Retrieval-Augmented Generation",
        "Chao Jin, Zili Zhang, Xuanlin Jiang, Fangyue Liu, Xin Liu, Xuanzhe Liu, Xin Jin",
        "arXiv",
        2024,
        "https://arxiv.org/abs/2404.12457",
        COMPOUND,
        "Retrieved documents make prompts long, and the same documents recur across requests. "
        "RAGCache keeps their intermediate states in a knowledge tree spread over GPU and host "
        "memory, and overlaps retrieval with inference.",
    ),
    PaperData(
        "parrot",
        "Parrot: Efficient Serving of LLM-based Applications with Semantic Variable",
        "Chaofan Lin, Zhenhua Han, Chengruidong Zhang, Yuqing Yang, Fan Yang, Chen Chen, Lili Qiu",
        "OSDI",
        2024,
        "https://www.usenix.org/conference/osdi24/presentation/lin-chaofan",
        COMPOUND,
        "Applications issue chains of dependent LLM calls, but the serving engine sees only "
        "isolated requests. Semantic Variables expose the dataflow between calls, so Parrot can "
        "schedule a whole application and share common prompt prefixes.",
    ),
)

# A student's proposal waiting for the instructor: (proposer, paper).
PROPOSAL = (
    9,
    PaperData(
        "sglang",
        "SGLang: Efficient Execution of Structured Language Model Programs",
        "Lianmin Zheng, Liangsheng Yin, Zhiqiang Xie, Chuyue Sun, Jeff Huang, Cody Hao Yu, "
        "Shiyi Cao, Christos Kozyrakis, Ion Stoica, Joseph E. Gonzalez, Clark Barrett, Ying Sheng",
        "NeurIPS",
        2024,
        "https://arxiv.org/abs/2312.07104",
        COMPOUND,
        "A front-end language for programs that call a model many times, with a runtime that "
        "reuses cached prefixes through a radix tree and decodes constrained outputs quickly. "
        "I would like to present it next to Parrot.",
    ),
)

# --------------------------------------------------------------------------- schedule

# (days from today, moved off weekends; session title; number of slots)
SESSIONS = (
    (-2, "Memory management for LLM serving", 1),
    (3, "Disaggregated serving", 1),
    (10, "Phase splitting", 2),
    (17, "Chunked prefills", 2),
    (24, "Compound AI systems", 2),
    (31, "Retrieval-augmented generation", 2),
)


class Slot(NamedTuple):
    session: int  # index into SESSIONS
    slot: int
    paper: str
    presenters: tuple[int, ...]
    summarizers: tuple[int, ...]
    slides_url: str = ""
    slides_attribution: str = ""  # set when the presenters reuse the paper authors' slides


RELEASED = Slot(
    0, 1, "vllm", (1,), (2, 3), "https://slides.example.edu/cs598/vllm-pagedattention.pdf"
)
OPEN = Slot(
    1,
    1,
    "distserve",
    (4,),
    (5,),
    "https://slides.example.edu/cs598/distserve.pdf",
    "Figures 1–4 and the architecture slide are from the authors' OSDI '24 talk.",
)
LATER = (
    Slot(2, 1, "splitwise", (6,), (7,)),
    Slot(3, 1, "sarathi", (8,), (9,)),
)

RELEASED_SUMMARY = (
    "vLLM observes that KV-cache memory, not compute, limits how many requests an LLM server "
    "can batch, because earlier systems reserve a contiguous region sized for the longest "
    "possible output. PagedAttention stores the cache in fixed-size blocks mapped through a "
    "block table, so memory is allocated as tokens are generated and blocks can be shared "
    "copy-on-write between sequences. The evaluation reports 2-4x higher throughput than "
    "FasterTransformer and Orca at similar latency."
)

# --------------------------------------------------------------------------- reviews


class ReviewData(NamedTuple):
    student: int
    hours: float  # before the deadline when submitted (negative: after it); for drafts, hours ago
    score: Optional[int]
    confidence: Optional[int]
    summary: str
    strengths: str = ""
    weaknesses: str = ""
    questions: str = ""


# Reviews of the released presentation, in submission order. Students 5 and 7 hand in a
# near-copy (7 reworded a few words of 5's review); student 11 is late; student 12 is missing.
RELEASED_REVIEWS = (
    ReviewData(
        4, 52.4, 4, 3,
        "vLLM treats the key-value cache like virtual memory: each sequence's cache lives in "
        "fixed-size blocks that need not be contiguous, and a block table maps logical positions "
        "to physical blocks. Because memory is handed out one block at a time, almost none is "
        "reserved for tokens that are never generated, so far more requests fit in a batch.",
        "The operating-systems analogy is clean and makes the design easy to reason about. "
        "Copy-on-write sharing of prompt blocks for parallel sampling and beam search is a neat "
        "extra win. The evaluation covers several model sizes and two real datasets.",
        "The custom attention kernel is slower than a contiguous one in isolation, and the paper "
        "only briefly quantifies that overhead. Block size is tuned by hand; I would like to see "
        "how sensitive throughput is to it on different workloads.",
        "How does the block size interact with very long contexts?\n"
        "What happens to fragmentation under preemption storms?",
    ),
    ReviewData(
        9, 40.7, 4, 4,
        "The authors show that fragmentation and over-reservation of cache memory, not "
        "arithmetic, cap the batch size of LLM serving, and fix it with block-level allocation "
        "inspired by paging. A centralized scheduler coordinates block tables across GPU workers.",
        "Simple mechanism with large effect; the paper is careful to show that gains grow with "
        "longer sequences and wider beams, which is where contiguous allocation hurts most.",
        "Scheduling is first-come-first-served, so the paper sidesteps fairness and "
        "head-of-line blocking.",
        "Why first-come-first-served rather than a policy aware of output length?",
    ),
    ReviewData(
        5, 30.2, 5, 4,
        "The paper argues that serving throughput for large language models is limited by how "
        "the KV cache is stored rather than by compute. Existing systems reserve a contiguous "
        "region for the maximum sequence length, which wastes most of the memory through "
        "internal and external fragmentation. PagedAttention splits the cache into small blocks "
        "addressed through a per-request table, and vLLM builds a scheduler around it that can "
        "share, swap and recompute blocks.",
        "A clear diagnosis backed by a measurement of how little reserved memory is actually "
        "used in prior systems. The design borrows a well-understood idea from operating systems "
        "and applies it precisely where it pays off. Throughput gains of two to four times at "
        "the same latency are convincing.",
        "Preemption policy is all-or-nothing per sequence group and the choice between swapping "
        "and recomputation is only evaluated on a few settings. The comparison with "
        "FasterTransformer and Orca uses reimplemented baselines, which makes it hard to judge "
        "how fair the numbers are.",
        "Would a finer-grained eviction policy help under bursty load?\n"
        "How were the Orca baselines configured?",
    ),
    ReviewData(
        6, 25.6, 3, 4,
        "This work targets memory waste in LLM inference. Instead of allocating one large buffer "
        "per request, the attention keys and values are kept in pages allocated on demand, which "
        "lets the engine pack more concurrent requests onto a GPU.",
        "Strong engineering: the system is open source and has clearly influenced practice. The "
        "ablations on block size and on swapping versus recomputation answer the obvious design "
        "questions.",
        "The novelty is mostly in applying paging, an old idea, to a new data structure; the "
        "paper could be more explicit about what was hard. Latency results are reported as "
        "normalized latency per token, which hides tail behaviour that matters to interactive "
        "users. Multi-GPU results are limited to tensor parallelism within a node.",
        "What does the p99 time-to-first-token look like at the highest load you tested?",
    ),
    ReviewData(
        7, 19.9, 5, 3,
        "The paper argues that serving throughput for large language models is bounded by how "
        "the KV cache is stored rather than by compute. Existing systems reserve a contiguous "
        "region for the maximum sequence length, which wastes most of the memory through "
        "internal and external fragmentation. PagedAttention divides the cache into small blocks "
        "addressed through a per-request table, and vLLM builds a scheduler around it that can "
        "share, swap and recompute blocks.",
        "A clear diagnosis supported by a measurement of how little reserved memory is actually "
        "used in earlier systems. The design borrows a well-understood idea from operating "
        "systems and applies it exactly where it pays off. Throughput gains of 2-4x at the same "
        "latency are convincing.",
        "The preemption policy is all-or-nothing per sequence group and the choice between "
        "swapping and recomputation is only evaluated on a few settings. The comparison with "
        "FasterTransformer and Orca relies on reimplemented baselines, making it hard to judge "
        "how fair the numbers are.",
        "Could a finer-grained eviction policy help under bursty load?\n"
        "How were the Orca baselines configured?",
    ),
    ReviewData(
        8, 13.3, 4, 2,
        "vLLM is an inference engine whose central idea, PagedAttention, lets attention operate "
        "over key and value tensors scattered across non-contiguous memory blocks. Memory for a "
        "request grows block by block as tokens are produced, and blocks can be shared between "
        "sequences that have a common prefix.",
        "I liked the motivation figure that breaks memory down into parameters, KV cache and "
        "waste; it makes the problem concrete. The sharing mechanism makes parallel decoding "
        "almost free in memory.",
        "As someone newer to GPU programming I found the kernel section terse. I am also unsure "
        "the results transfer to models with grouped-query attention, whose caches are much "
        "smaller.",
        "Does PagedAttention still matter as much for models with grouped-query attention?\n"
        "How does vLLM decide which request to preempt?",
    ),
    ReviewData(
        10, 0.4, 2, 3,
        "A serving system for LLMs that manages the attention cache in small fixed blocks, "
        "reducing wasted GPU memory so that larger batches, and hence higher throughput, become "
        "possible.",
        "Well written, and the memory waste measurements of prior systems are eye-opening.",
        "I am not convinced by the evaluation setup: request arrivals follow a Poisson process "
        "with synthetic rates, and output lengths come from datasets rather than production "
        "logs. The headline speedups compare against systems not designed for this workload. "
        "Energy and cost per token are not measured at all.",
        "How would results change with real production traces?\n"
        "What is the cost per million tokens compared with the baselines?",
    ),
    ReviewData(
        11, -8.8, 4, 3,
        "The paper introduces PagedAttention and the vLLM engine. By allocating the cache lazily "
        "in blocks and mapping them through block tables, the system nearly eliminates "
        "fragmentation and can batch many more sequences.",
        "Practical impact is obvious; the evaluation spans chatbot, parallel sampling and beam "
        "search workloads.",
        "The CPU swap path relies on PCIe bandwidth and could become a bottleneck on machines "
        "with many GPUs sharing a host; this is not measured.",
        "How does swapping behave when several GPUs share one PCIe switch?",
    ),
)

# One review was edited before the deadline: (student, hours before the deadline, field, new text).
RELEASED_EDIT = (
    9,
    9.5,
    "weaknesses",
    "Scheduling is first-come-first-served, so the paper sidesteps fairness and head-of-line "
    "blocking. There is no discussion of prefix caching across requests, a natural next step "
    "that later systems built on.",
)

# Staff feedback on two released reviews: (student, grade, feedback).
FEEDBACK = (
    (6, 9.0, "Good point about tail latency; back it with a number from the paper next time."),
    (10, 7.5, "Fair criticism of the traces, but say what evaluation would convince you."),
)

# The open presentation: two submitted reviews and three drafts (hours ago).
OPEN_SUBMITTED = (
    ReviewData(
        6, 20, 4, 3,
        "DistServe runs prefill and decoding on different GPU instances so that a long prompt "
        "never delays the token-by-token phase of other requests. It searches for the best "
        "parallelism and placement of each phase given the cluster's bandwidth.",
        "Goodput under two latency objectives is the right metric for interactive serving, and "
        "the placement search is practical.",
        "Moving the cache between instances needs fast interconnects; the low-bandwidth "
        "configuration is only sketched.",
        "How does goodput change on a cluster with only PCIe between nodes?",
    ),
    ReviewData(
        8, 6, 3, 2,
        "The paper separates the two phases of LLM inference onto dedicated GPUs and tunes each "
        "phase's parallelism independently, reporting that many more requests meet their "
        "latency targets.",
        "Clear illustration of interference between phases in colocated serving.",
        "The comparison with chunked prefill is brief; that approach attacks the same "
        "interference without moving data between machines.",
        "When would you choose chunked prefill instead?",
    ),
)
OPEN_DRAFTS = (
    ReviewData(
        9, 30, None, None,
        "Disaggregation of prefill and decode, with a placement algorithm per phase.",
    ),
    ReviewData(
        10, 12, 3, None,
        "The system splits inference into two pools of GPUs and schedules requests between them.",
        "Good motivation section.",
    ),
    ReviewData(11, 2, None, None, "TODO: read section 4 again before writing this up."),
)
EXTENSION = (12, 3, "Medical leave; documented with the dean's office.")

# --------------------------------------------------------------------------- panel

# The released presentation's panel: (asker, anonymous, question, answer, outcome).
PANEL_QUESTIONS = (
    (
        4, False,
        "How sensitive is throughput to the block size, and who picks it?",
        "The ablation finds 16 tokens a good default: smaller blocks hurt the kernel, larger "
        "ones bring internal waste back. The operator sets it once per deployment.",
        "rebutted",
    ),
    (
        10, True,
        "Aren't the headline speedups mostly from comparing against systems that were never "
        "built for this workload?",
        "Partly. The Orca baseline is a reimplementation, so we would not lean on the exact "
        "factor; the memory-utilisation argument stands on its own.",
        "conceded",
    ),
    (
        9, False,
        "Why first-come-first-served instead of a policy aware of output length?",
        "Output lengths are unknown in advance; the authors leave smarter policies to future "
        "work, which later systems take up.",
        "deferred",
    ),
    (
        8, False,
        "Does paging still matter for models with grouped-query attention?",
        "Yes: the cache per token shrinks, but contexts have grown longer, so fragmentation "
        "still decides the batch size.",
        "rebutted",
    ),
)
PANEL_VERDICTS = ((4, "accept"), (5, "accept"), (6, "revise"), (8, "accept"), (9, "accept"), (10, "revise"))
